import ArgumentParser
import Foundation
import KilnArchive
import KilnBuilder
import KilnCache
import KilnDistribution
import KilnDockerfile
import KilnExecutor
import KilnFileOps
import KilnOCI
import KilnStorage

/// `kiln build`: a Dockerfile and a context in, an image out; shaped like `docker build`.
struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an image from a Dockerfile.",
        discussion: """
            With no --output and no --push, the image goes to an OCI layout under ./kiln-out/<name> \
            (name from the first -t, else the context directory's name).
            """
    )

    @Argument(help: "The build context: a directory, or - for a tar on standard input.")
    var context: String

    @Option(name: .shortAndLong, help: "The Dockerfile (default: CONTEXT/Dockerfile); - reads it from standard input.")
    var file: String?

    @Option(name: .shortAndLong, help: "Name and tag the image (repeatable).")
    var tag: [String] = []

    @Option(name: .customLong("build-arg"), help: "Set a build argument, NAME=value or NAME (value from the environment).")
    var buildArg: [String] = []

    @Option(help: "Build this stage (default: the last one).")
    var target: String?

    @Option(help: "Add a label to the image, KEY=VALUE (repeatable).")
    var label: [String] = []

    @Option(help: "The image's platform (default: this machine's); RUN steps of another platform run under QEMU user emulation where binfmt_misc has a handler for it with the F flag (Debian: apt-get install qemu-user-static).")
    var platform: String?

    @Option(name: .shortAndLong, help: "type=oci,dest=DIR[,name=N] | type=docker,dest=FILE | type=registry[,name=REF] (repeatable); also oci-mediatypes=false (Docker media types), compression=gzip|zstd.")
    var output: [String] = []

    @Flag(help: "Push the -t references to their registries.")
    var push = false

    @Option(help: "Write the image ID (manifest digest) to this file.")
    var iidfile: String?

    @Option(name: .customLong("metadata-file"), help: "Write digests and per-step timing and cache status as JSON to this file.")
    var metadataFile: String?

    @Option(help: "Progress output: auto, tty, plain or json.")
    var progress: String = "auto"

    @Option(help: "Network for RUN steps: default (a private network with NAT egress), none (loopback only) or host (needs --allow network.host).")
    var network: String = "default"

    @Option(help: "Grant an entitlement: network.host or security.insecure (repeatable).")
    var allow: [String] = []

    @Flag(name: .customLong("no-cache"), help: "Do not use cached steps (results are still cached).")
    var noCache = false

    @Option(help: "How RUN steps are isolated: auto (default), root, rootless, userns-pod or chroot (env KILN_ISOLATION); see the README.")
    var isolation: String?

    @Option(help: "OCI runtime: auto, runc, crun or a path.")
    var runtime: String = "auto"

    @Option(help: "Layer compression: gzip or zstd.")
    var compression: String = "gzip"

    @Flag(help: "Squash the target stage's own layers into one layer on top of its base image's layers.")
    var squash = false

    @Option(help: "Which steps make layers: all (every RUN, COPY, ADD, WORKDIR) or explicit (only RUN/COPY/ADD lines ending with #!COMMIT, and each stage's last step).")
    var commit: String = CommitMode.all.rawValue

    @Option(name: .customLong("build-context"), help: "A named context, NAME=PATH (a local directory), NAME=docker-image://REF or NAME=oci-layout:///PATH[:TAG|@sha256:…] (repeatable).")
    var buildContext: [String] = []

    @Option(help: "A secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VARIABLE (repeatable).")
    var secret: [String] = []

    @Option(help: "An ssh agent for RUN --mount=type=ssh: default (from $SSH_AUTH_SOCK) or ID=SOCKET or ID=KEYFILE[,KEYFILE…] (repeatable).")
    var ssh: [String] = []

    @OptionGroup var registry: RegistryFlags

    @OptionGroup var cacheFlags: CacheFlags

    @OptionGroup var diskReserve: DiskReserveFlags

    func validate() throws {
        guard ProgressMode(rawValue: progress) != nil else {
            throw ValidationError("--progress must be one of auto, tty, plain, json")
        }
        guard NetworkMode(rawValue: network) != nil else { throw ValidationError("--network must be default, none or host") }
        for name in allow where Entitlement(rawValue: name) == nil {
            throw ValidationError("--allow \(name): expected one of " + Entitlement.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard ["gzip", "zstd"].contains(compression) else { throw ValidationError("--compression must be gzip or zstd") }
        guard CommitMode(rawValue: commit) != nil else {
            throw ValidationError("--commit \(commit): expected " + CommitMode.allCases.map(\.rawValue).joined(separator: " or "))
        }
        if context == "-" && file == "-" { throw ValidationError("the context and the Dockerfile cannot both come from standard input") }
        _ = try platforms()
    }

    /// `--platform`: one platform, or a comma-separated list (one image each, joined by an
    /// index); the host's when not given. A platform named twice is built once.
    private func platforms() throws -> [BuildPlatform] {
        guard let platform else { return [.current] }
        var list: [BuildPlatform] = []
        for item in platform.split(separator: ",", omittingEmptySubsequences: false) {
            let text = item.trimmingCharacters(in: .whitespaces)
            let parsed: BuildPlatform
            do { parsed = try BuildPlatform(parsing: text) } catch {
                throw ValidationError("--platform \(platform): \"\(text)\": \(error)")
            }
            if !list.contains(parsed) { list.append(parsed) }
        }
        return list
    }

    func run() async throws {
        var root = KilnRoot.fromEnvironment()
        root.reserve = try diskReserve.reserve()
        root.budget = try diskReserve.budget()
        let display = ProgressDisplay(mode: ProgressMode(rawValue: progress) ?? .auto)
        let work = Task { try await build(root: root, events: display.sink) }
        let signals = SignalCancellation(cancelling: work)
        defer { signals.stop() }
        let summary: String
        do {
            summary = try await work.value
        } catch {
            await display.close()
            // A signal cancels the build wherever it is, which some layers report in their own words.
            if error is CancellationError || work.isCancelled { throw CommandFailure("build cancelled") }
            throw CommandFailure(describing: error)
        }
        await display.close()
        TerminalText.print(summary)
    }

    /// The whole build: request, build, exports, files; returns what to print.
    private func build(root: KilnRoot, events: @escaping BuildEventSink) async throws -> String {
        let isolation = try IsolationEntry.current()
        events(.info(isolation.summary))
        if isolation.mode != .chroot, ProcessNamespace.current == .shared { events(.info(ProcessNamespace.sharedNotice)) }
        try root.makePrivate()
        try checkDestinations()
        var temporary: [URL] = []
        defer { for url in temporary { try? FileManager.default.removeItem(at: url) } }
        let contextDirectory: URL
        if context == "-" {
            // Extracted as a plain tar with containment (no whiteout semantics: a `.wh.` name in
            // a context is just a file).
            // Named by this process, so the next build reclaims it if this one is killed.
            let scratch = root.tmp.appendingPathComponent("context-\(ProcessIdentity.current)-\(UUID().uuidString.lowercased())")
            temporary.append(scratch)
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            contextDirectory = try await BuildContext.extracting(tarStream: FileHandle.standardInput, into: scratch).directory
        } else {
            contextDirectory = URL(fileURLWithPath: context).standardizedFileURL
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: contextDirectory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CommandFailure("context \(context) is not a directory")
            }
        }
        let dockerfile = try readDockerfile(contextDirectory: contextDirectory)
        let secrets = try SecretFlags(secret).files(root: root)
        if let directory = secrets.directory { temporary.append(directory) }
        var request = try makeRequest(contextDirectory: contextDirectory, dockerfileText: dockerfile.text, dockerfileName: dockerfile.name,
                                      secrets: secrets.files)
        let agents = try SSHAgents(ssh)
        defer { agents.stop() }
        request.sshAgents = agents.sockets
        request.isolation = isolation.mode
        request.dockerfile = dockerfile.url
        let targets = try outputTargets(contextDirectory: contextDirectory)

        let memo = FileDigestMemo(file: root.cache.appendingPathComponent("context-digests"))
        let pool = try RegistryPool(options: try registry.options())
        let builder = Builder(root: root, imageSource: RegistryImageSource(pool: pool), fileOperations: CopyOperations(memo: memo),
                              cacheSources: try await cacheFlags.sources(pool: pool),
                              cacheTimeout: .milliseconds(Int64(cacheFlags.cacheTimeout * 1000)))
        let outputs = BuildOutputs(targets: targets.list, publisher: ImagePusher(pool: pool), mountFrom: try cacheFlags.mountSources(),
                                   concurrentUploads: pool.options.maximumConcurrentTransfers)
        let built = try await builder.build(request, platforms: try platforms(), writingTo: outputs, events: events)
        try? await memo.save()
        let digest = built.digest
        let summary = built.platforms.map { "  \($0.platform): \($0.digest)" }
        if let iidfile {
            try OutputPath.makeParentDirectories(of: URL(fileURLWithPath: iidfile))
            try StagedFile.write(Data(digest.description.utf8), to: URL(fileURLWithPath: iidfile))
        }
        if let metadataFile {
            try OutputPath.makeParentDirectories(of: URL(fileURLWithPath: metadataFile))
            try StagedFile.write(try built.metadata.encoded(), to: URL(fileURLWithPath: metadataFile))
        }
        var lines = built.written.map { "exported \($0)" }
        lines.append(summary.isEmpty ? "image \(digest)" : "index \(digest) of \(summary.count) platforms:")
        lines += summary
        if let defaultLayout = targets.defaultLayout {
            let path = defaultLayout.directory.path
            let name = defaultLayout.name
            // docker-daemon: wants a full name; the layout only holds the tag.
            let daemonName = tag.first ?? (name.contains(":") ? name : "kiln-image:" + name)
            lines.append("""
                run it with:
                  skopeo copy oci:\(path):\(name) docker-daemon:\(daemonName)
                or:
                  umoci unpack --image \(path):\(name) bundle && runc run -b bundle kiln-run
                """)
        }
        return lines.joined(separator: "\n")
    }

    /// Finds a wrong destination (`--output`, `--iidfile`, `--metadata-file`) before anything
    /// is read or built, not after the whole build.
    private func checkDestinations() throws {
        for text in output { try OutputTarget(parsing: text, tags: tag).check() }
        if let iidfile { try OutputPath.check(URL(fileURLWithPath: iidfile), as: .file, for: "--iidfile") }
        if let metadataFile { try OutputPath.check(URL(fileURLWithPath: metadataFile), as: .file, for: "--metadata-file") }
    }

    private func readDockerfile(contextDirectory: URL) throws -> (text: String, name: String, url: URL?) {
        if file == "-" {
            return (String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self), "-", nil)
        }
        let url = file.map { URL(fileURLWithPath: $0) } ?? contextDirectory.appendingPathComponent("Dockerfile")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CommandFailure("cannot read the Dockerfile \(url.path)")
        }
        return (String(decoding: data, as: UTF8.self), file ?? "Dockerfile", url.standardizedFileURL)
    }

    private func makeRequest(contextDirectory: URL, dockerfileText: String, dockerfileName: String,
                             secrets: [String: URL]) throws -> BuildRequest {
        var buildArgs: [String: String] = [:]
        let environment = ProcessInfo.processInfo.environment
        for argument in buildArg {
            if let equals = argument.firstIndex(of: "=") {
                buildArgs[String(argument[..<equals])] = String(argument[argument.index(after: equals)...])
            } else if let value = environment[argument] {
                buildArgs[argument] = value
            }
        }
        var labels: [String: String] = [:]
        for item in label {
            guard let equals = item.firstIndex(of: "=") else { throw ValidationError("--label \(item): expected KEY=VALUE") }
            labels[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        let epoch = try SourceDateEpoch.parse(buildArgs["SOURCE_DATE_EPOCH"] ?? environment["SOURCE_DATE_EPOCH"])
        var request = BuildRequest(
            contextDirectory: contextDirectory, dockerfileText: dockerfileText, dockerfileName: dockerfileName,
            tags: tag, buildArgs: buildArgs, target: target, labels: labels,
            noCache: noCache,
            runtime: RuntimeChoice(argument: runtime), network: NetworkMode(rawValue: network) ?? .default,
            compression: compression == "zstd" ? .zstd() : .parallelGzip(),
            namedContexts: try buildContext.map { text throws(BuildError) in try NamedContext(parsing: text) }, secrets: secrets, sourceDateEpoch: epoch)
        request.entitlements = Set(allow.compactMap(Entitlement.init(rawValue:)))
        request.noCacheFilter = Set(cacheFlags.noCacheFilter)
        request.explainCache = cacheFlags.explainCache
        request.remoteCacheMounts = CacheMountSelection(parsing: cacheFlags.remoteCacheMounts)
        request.cacheMountMaximumSize = cacheFlags.cacheMountMaxSize > 0 ? cacheFlags.cacheMountMaxSize : nil
        request.commitMode = CommitMode(rawValue: commit) ?? .all
        request.squash = squash
        try OutputImageOptions(outputs: output).apply(to: &request)
        return request
    }

    /// The outputs asked for, or the default OCI layout under ./kiln-out.
    private func outputTargets(contextDirectory: URL) throws -> (list: [OutputTarget], defaultLayout: (directory: URL, name: String)?) {
        var targets = try output.map { try OutputTarget(parsing: $0, tags: tag) }
        if push {
            guard !tag.isEmpty else { throw ValidationError("--push needs at least one -t") }
            // As buildx: --push joins a registry output that already pushes the -t names
            // (`--push --output type=image,oci-mediatypes=false`) instead of pushing twice.
            let pushTarget = try OutputTarget(parsing: "type=registry", tags: tag)
            if !targets.contains(pushTarget) { targets.append(pushTarget) }
        }
        if !targets.isEmpty { return (targets, nil) }
        let reference = try tag.first.map { try Reference(parsing: $0) }
        let directoryName = reference.map { String($0.repository.split(separator: "/").last ?? "image") }
            ?? contextDirectory.lastPathComponent
        let refName = reference?.tag ?? "latest"
        let directory = URL(fileURLWithPath: "kiln-out").appendingPathComponent(directoryName).standardizedFileURL
        try FileManager.default.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
        return ([.ociLayout(directory: directory, name: refName)], (directory, refName))
    }
}
