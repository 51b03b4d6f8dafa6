#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KilnTestSupport

/// An image unpacked by `umoci unpack` into an OCI runtime bundle (`rootfs/` and a
/// `config.json` made from the image config), to list its files and run it with `runc`.
struct BuildCorpusBundle {
    /// The bundle folder.
    let directory: URL
    /// `directory/rootfs`.
    var rootfs: URL { directory.appendingPathComponent("rootfs") }

    /// Unpacks `layout:refName` into a new folder under `parent`.
    init(layout: URL, refName: String, in parent: URL) throws {
        directory = parent.appendingPathComponent("bundle-\(UUID().uuidString)")
        try ProcessRunner.checked("umoci", ["unpack", "--image", "\(layout.path):\(refName)", directory.path])
    }

    /// One file of the rootfs as compared: type, mode, owner, size (regular files and links),
    /// link target and, for regular files, the hard link count.
    static func describe(_ status: stat, linkTarget: String?) -> String {
        let type: String
        switch status.st_mode & S_IFMT {
        case S_IFREG: type = "file"
        case S_IFDIR: type = "dir"
        case S_IFLNK: type = "symlink"
        case S_IFCHR: type = "char"
        case S_IFBLK: type = "block"
        case S_IFIFO: type = "fifo"
        case S_IFSOCK: type = "socket"
        default: type = "unknown"
        }
        var text = "\(type) \(String(status.st_mode & 0o7777, radix: 8)) \(status.st_uid):\(status.st_gid)"
        if type == "file" { text += " size=\(status.st_size) links=\(status.st_nlink)" }
        if let linkTarget { text += " -> \(linkTarget)" }
        return text
    }

    /// Every path of the rootfs (`/bin/sh`, …) with its ``describe(_:linkTarget:)`` text.
    /// Symlinks are listed, never followed.
    func files() throws -> [String: String] {
        var listing: [String: String] = [:]
        func walk(_ relative: String) throws {
            let names = try FileManager.default.contentsOfDirectory(atPath: rootfs.path + relative)
            for name in names {
                let path = relative + "/" + name
                var status = stat()
                guard lstat(rootfs.path + path, &status) == 0 else {
                    throw BuildCorpusError("lstat \(path): \(String(cString: strerror(errno)))")
                }
                let isLink = status.st_mode & S_IFMT == S_IFLNK
                let target = isLink ? try FileManager.default.destinationOfSymbolicLink(atPath: rootfs.path + path) : nil
                listing[path] = Self.describe(status, linkTarget: target)
                if status.st_mode & S_IFMT == S_IFDIR { try walk(path) }
            }
        }
        try walk("")
        return listing
    }

    /// Runs the image's entrypoint and command (umoci's `config.json`, without a terminal) with
    /// `runc` under a unique id, deletes the container and returns what it printed.
    func run() throws -> KilnBinary.Result {
        let configURL = directory.appendingPathComponent("config.json")
        guard var config = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any],
              var process = config["process"] as? [String: Any] else {
            throw BuildCorpusError("\(configURL.path) has no process")
        }
        process["terminal"] = false
        config["process"] = process
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let state = directory.appendingPathComponent("runc-state")
        let id = "kiln-corpus-\(UUID().uuidString.prefix(12).lowercased())"
        let runc = URL(fileURLWithPath: "/usr/bin/env")
        defer { _ = try? ProcessRunner.run(runc, ["runc", "--root", state.path, "delete", "--force", id]) }
        return try ProcessRunner.run(runc, ["runc", "--root", state.path, "run", "--bundle", directory.path, id])
    }

    /// Removes the bundle.
    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
