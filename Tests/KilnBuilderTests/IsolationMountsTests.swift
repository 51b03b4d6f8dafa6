import Foundation
import KilnTestSupport
import Testing

extension IsolationSuites {
    /// Issue 13: secrets, cache mounts and the registry cache work in every isolation mode. A
    /// build with a secret and a cache mount writes its steps to a registry cache; a second
    /// machine (a fresh `$KILN_ROOT`) of the same mode hits every step from it; the secret is in
    /// no layer and the cache mount's file stays in the cache, not the image.
    @Suite(
        "secrets, cache mounts and the registry cache in every isolation mode", .serialized,
        .enabled(if: TestRegistry.isAvailable, Comment(rawValue: TestRegistry.unavailableReason)),
        .enabled(if: TestUser.isAvailable, "needs root (to add test users), unshare, newuidmap, setpriv and user namespaces"))
    struct IsolationMountsTests {
        static let secret = "isolation-secret-\(UUID().uuidString.prefix(8))"

        static let dockerfile = """
            FROM busybox
            RUN --mount=type=secret,id=token sed 's/^/SEEN /' /run/secrets/token && wc -c < /run/secrets/token > /token-size
            RUN --mount=type=cache,target=/cache,uid=1000 echo kept > /cache/file && ls -ln /cache > /cache-listing
            RUN --mount=type=cache,target=/cache,uid=1000 cat /cache/file
            """

        @Test("a secret and a cache mount work, the secret reaches no layer, and a second machine hits every step from the registry cache",
              arguments: ["root"] + IsolationParityTests.modes)
        func mountsAndRegistryCache(_ mode: String) async throws {
            let kiln = try IsolatedKiln.named(mode)
            let base = try BaseImages.busybox()
            _ = try ProcessRunner.checked("/bin/chmod", ["-R", "a+rX", base.layout.path])
            let work = try kiln.workDirectory("mounts")
            defer { try? FileManager.default.removeItem(at: work) }
            let context = work.appendingPathComponent("context")
            try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
            try Data(Self.dockerfile.utf8).write(to: context.appendingPathComponent("Dockerfile"))
            let secretFile = work.appendingPathComponent("token")
            try Data((Self.secret + "\n").utf8).write(to: secretFile)
            _ = try ProcessRunner.checked("/bin/chmod", ["-R", "a+rX", work.path])
            try await withTestRegistry { registry in
                func build(_ machine: String) throws -> (result: KilnBinary.Result, statuses: [String], layout: URL) {
                    let metadata = work.appendingPathComponent("\(machine).json")
                    let layout = work.appendingPathComponent("out-\(machine)")
                    let result = try kiln.run(
                        ["build", "--progress", "plain", "--secret", "id=token,src=\(secretFile.path)",
                         "--build-context", "busybox=oci-layout://\(base.layout.path):\(base.refName)",
                         "--cache-repo", "\(registry.host)/cache/\(mode)", "--metadata-file", metadata.path,
                         "--output", "type=oci,dest=\(layout.path)"] + kiln.buildFlags + [context.path],
                        environment: ["KILN_ROOT": work.appendingPathComponent("root-\(machine)").path], in: work)
                    let statuses = (try? BuildOutcome(metadata).statuses) ?? []
                    return (result, statuses, layout)
                }
                let first = try build("first")
                #expect(first.result.status == 0, "\(mode): \(first.result.stderr.suffix(3000))")
                #expect(first.result.stderr.contains("SEEN \(Self.secret)"), "\(mode): the step did not see the secret")
                #expect(first.result.stderr.contains("kept"), "\(mode): the cache mount's file was not there for the next step")
                #expect(first.statuses == ["executed", "executed", "executed"], "\(mode): \(first.statuses)")
                let second = try build("second")
                #expect(second.result.status == 0, "\(mode): \(second.result.stderr.suffix(3000))")
                #expect(second.statuses == ["cached", "cached", "cached"], "\(mode): \(second.statuses)")
                for layout in [first.layout, second.layout] where FileManager.default.fileExists(atPath: layout.path) {
                    let entries = try LayerEntries(layout: layout)
                    #expect(entries.line(for: "cache/file") == nil, "\(mode): the cache mount's file reached the image")
                    #expect(entries.line(for: "run/secrets/token") == nil, "\(mode): the secret's mount point reached the image")
                    let blobs = layout.appendingPathComponent("blobs/sha256")
                    for name in try FileManager.default.contentsOfDirectory(atPath: blobs.path) {
                        let text = try ProcessRunner.run(URL(fileURLWithPath: "/bin/sh"),
                                                         ["-c", "gzip -dc '\(blobs.path)/\(name)' 2>/dev/null || cat '\(blobs.path)/\(name)'"])
                        #expect(!text.stdout.contains(Self.secret), "\(mode): blob \(name) holds the secret")
                    }
                }
            }
        }
    }
}
