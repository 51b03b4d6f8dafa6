import Foundation

/// A helper server of the registry tests written in Python: its script goes into a fresh
/// temporary folder, it listens on a free loopback port, and ``stop()`` ends it and removes
/// the folder.
public final class TestRegistryPythonServer: @unchecked Sendable {
    /// Whether `python3` is installed with every module in `modules`.
    public static func isAvailable(modules: [String]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: python.path) else { return false }
        let check = try? ProcessRunner.run(python, ["-c", modules.map { "import \($0)" }.joined(separator: "; ")])
        return check?.status == 0
    }

    static let python = URL(fileURLWithPath: "/usr/bin/python3")

    /// The loopback port it listens on.
    public let port: Int
    /// Its temporary folder: script, output, whatever files it writes.
    public let directory: URL
    private let process: Process

    private init(port: Int, directory: URL, process: Process) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// Writes `source` as a script and runs it with `arguments(port, directory)`; returns once
    /// the script itself has bound the port and `ready` (checked against the folder) holds.
    ///
    /// Another process may take the port between the probe and the script's bind; then the
    /// script exits and another port is tried. Whatever else answers on the port is never
    /// mistaken for the script, because the script announces its own bind.
    public static func start(
        name: String, source: String, arguments: (Int, URL) -> [String], ready: (URL) -> Bool = { _ in true }
    ) async throws -> TestRegistryPythonServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let script = directory.appendingPathComponent("\(name).py")
        try Data((preamble + source).utf8).write(to: script)
        let log = directory.appendingPathComponent("output.log")
        let announcement = directory.appendingPathComponent(".bound-port")
        var output = ""
        for _ in 0..<5 {
            let port = try TestRegistry.freePort()
            try? FileManager.default.removeItem(at: announcement)
            let process = try TestRegistry.launch(
                python, [script.path] + arguments(port, directory), log: log,
                environment: ["KILN_TEST_BOUND_PORT_FILE": announcement.path])
            let server = TestRegistryPythonServer(port: port, directory: directory, process: process)
            for _ in 0..<400 {
                let bound = (try? String(contentsOf: announcement, encoding: .utf8)) == String(port)
                if bound, ready(directory), TestRegistry.isListening(port: port) { return server }
                if !process.isRunning { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            await TestRegistry.terminate(process)
        }
        try? FileManager.default.removeItem(at: directory)
        throw TestRegistryError.notReady(log: "\(name): " + output)
    }

    /// Prepended to every script. The test process blocks signals in its threads and children
    /// inherit the mask; without the first lines the script would ignore the SIGTERM that stops
    /// it. The rest writes the port of each successful loopback bind to the announcement file.
    private static let preamble = """
        import os, signal, socket
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        _kiln_bind = socket.socket.bind
        def _kiln_announcing_bind(self, address):
            _kiln_bind(self, address)
            announcement = os.environ.get("KILN_TEST_BOUND_PORT_FILE")
            if announcement and isinstance(address, tuple):
                with open(announcement + ".tmp", "w") as f:
                    f.write(str(self.getsockname()[1]))
                os.replace(announcement + ".tmp", announcement)
        socket.socket.bind = _kiln_announcing_bind

        """

    /// The lines of a file the server writes into its folder (empty when it has not yet).
    public func lines(of file: String) -> [String] {
        let text = (try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    /// Terminates the server and removes its folder.
    public func stop() async {
        await TestRegistry.terminate(process)
        try? FileManager.default.removeItem(at: directory)
    }
}
