import Foundation

/// A temporary directory for one test, removed by ``remove()`` (call it in a `defer`).
struct ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-image-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ relative: String) -> URL { url.appendingPathComponent(relative) }

    func remove() { try? FileManager.default.removeItem(at: url) }

    /// Names in the directory, hidden ones included (temporary files start with a dot).
    func entries(_ relative: String = "") -> [String] {
        let target = relative.isEmpty ? url : path(relative)
        return ((try? FileManager.default.contentsOfDirectory(atPath: target.path)) ?? []).sorted()
    }

    /// Writes a small tree: a directory, files with text, an executable, a symlink.
    func makeTree(_ relative: String, seed: String = "a") throws -> URL {
        let root = path(relative)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc/app"), withIntermediateDirectories: true)
        try Data("hello \(seed)\n".utf8).write(to: root.appendingPathComponent("etc/app/greeting"))
        try Data("#!/bin/sh\necho \(seed)\n".utf8).write(to: root.appendingPathComponent("run.sh"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.appendingPathComponent("run.sh").path)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("greeting").path,
                                                   withDestinationPath: "etc/app/greeting")
        return root
    }
}
