import Foundation
import KilnImage
import KilnOCI
import KilnTestSupport
import Testing

/// `kiln import --change` runs each instruction through the Dockerfile frontend: the config it
/// gives is the one `kiln build` gives for a Dockerfile of `FROM scratch` and the same lines.
@Suite("kiln import --change behaves as the Dockerfile instruction")
struct ImportChangeAsDockerfileTests {
    /// Each case: the changes, in order (one Dockerfile line each).
    static let cases: [[String]] = [
        [#"CMD ["sh"]"#],
        ["CMD echo hi"],
        ["ENV A=1", #"ENV B=${A}2 C="$A and $B" D=${UNSET:-fallback}"#, "LABEL from.env=$B"],
        ["env LEGACY value with spaces"],
        [#"LABEL org.example.team="core team" tier=1"#, "EXPOSE 80 53/udp 8000-8001"],
        ["ENV PORT=8080", "EXPOSE $PORT", "USER app:$PORT", "WORKDIR /srv", "WORKDIR app/../data", "VOLUME /data /var/$PORT"],
        [#"CMD ["run"]"#, #"ENTRYPOINT ["/bin/tool"]"#],
        ["ENTRYPOINT /bin/tool --flag", "STOPSIGNAL SIGINT"],
        ["HEALTHCHECK --interval=5s --timeout=2s --retries=3 CMD curl -f http://localhost/ || exit 1"],
        ["ONBUILD RUN echo later"],
    ]

    @Test(arguments: cases.indices)
    func sameConfigAsABuild(index: Int) throws {
        let changes = Self.cases[index]
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let environment = ["SOURCE_DATE_EPOCH": "0", "KILN_ROOT": scratch.path("root").path]

        let tree = scratch.path("empty")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        let imported = try KilnBinary.run(["import", tree.path, "--output", "type=oci,dest=\(scratch.path("imported").path)"]
                                          + changes.flatMap { ["--change", $0] }, environment: environment)
        #expect(imported.status == 0, "\(imported.stderr)")

        let context = scratch.path("context")
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        try Data((["FROM scratch"] + changes).joined(separator: "\n").utf8).write(to: context.appendingPathComponent("Dockerfile"))
        let built = try KilnBinary.run(["build", "--output", "type=oci,dest=\(scratch.path("built").path),name=built",
                                        context.path], environment: environment)
        #expect(built.status == 0, "\(built.stderr)")

        let fromImport = try OCILayout(at: scratch.path("imported")).image().config().config
        var fromBuild = try OCILayout(at: scratch.path("built")).image().config().config
        // A build adds BuildKit's default PATH to every stage; an import, like `docker import`,
        // adds nothing it was not asked for.
        fromBuild.env.removeAll { $0.hasPrefix("PATH=") }
        #expect(fromImport == fromBuild)
    }
}
