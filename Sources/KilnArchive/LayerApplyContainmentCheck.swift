import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Applies arbitrary bytes as a layer and checks that ``LayerApplier`` kept to its root: the
/// property the layer-application fuzz target (`fuzz/run-layer-apply.sh`) and the test suite's
/// corpus replay both assert, through this one type.
///
/// Each run makes a fresh sandbox below `base`:
///
/// ```
/// sandbox-XXXXXX/
///   layer                     the bytes (gzip, zstd or plain tar, or garbage)
///   outside/decoy             a file that must stay as it is
///   outside/dir/              a directory that must stay empty
///   a/b/root/                 the target; `..` from it still lands in the sandbox
///     up -> ../../../outside  symlinks out, which the applier must resolve inside the root
///     abs -> <sandbox>/outside
/// ```
///
/// and compares everything below `base` except the target root (types, modes, owners, sizes,
/// link counts, mtimes, symlink targets and file contents) before and after the
/// application. An error from the applier is fine (most fuzz inputs are refused); a change
/// outside the root, or a root that is no longer a directory, is a ``Violation``. Symlinks
/// inside the root may point anywhere: only what is written through them matters.
public struct LayerApplyContainmentCheck: Sendable {
    /// Something appeared, changed or vanished outside the target root.
    public struct Violation: Error, CustomStringConvertible {
        /// What differs, one line per path.
        public var description: String
    }

    /// The directory the sandboxes are made in; nothing else should live there.
    public let base: URL
    /// Whether the applier runs privileged (owners, device nodes); as the process is, by default.
    public var privileged: Bool

    /// A check making its sandboxes below `base` (created if missing).
    public init(base: URL, privileged: Bool = geteuid() == 0) {
        self.base = base
        self.privileged = privileged
    }

    /// Applies `bytes` in a fresh sandbox and returns what the applier said (its result or
    /// its error); throws ``Violation`` when anything outside the root changed. The sandbox is
    /// removed either way.
    @discardableResult
    public func run(_ bytes: [UInt8]) throws(Violation) -> Result<LayerApplyResult, any Error> {
        try? FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        var template = Array(base.appendingPathComponent("sandbox-XXXXXX").path.utf8CString)
        guard let made = mkdtemp(&template) else {
            throw Violation(description: "cannot create a sandbox in \(base.path): \(String(cString: strerror(errno)))")
        }
        let sandbox = String(cString: made)
        defer { Self.removeTree(sandbox) }
        let root = sandbox + "/a/b/root"
        do {
            try FileManager.default.createDirectory(atPath: sandbox + "/outside/dir", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            try Data("decoy\n".utf8).write(to: URL(fileURLWithPath: sandbox + "/outside/decoy"))
            try Data(bytes).write(to: URL(fileURLWithPath: sandbox + "/layer"))
            try FileManager.default.createSymbolicLink(atPath: root + "/up", withDestinationPath: "../../../outside")
            try FileManager.default.createSymbolicLink(atPath: root + "/abs", withDestinationPath: sandbox + "/outside")
        } catch {
            throw Violation(description: "cannot prepare the sandbox \(sandbox): \(error)")
        }
        let before = Self.state(below: base.path, skipping: root)
        let outcome = Result<LayerApplyResult, any Error> {
            try LayerApplier(privileged: privileged).apply(layer: URL(fileURLWithPath: sandbox + "/layer"),
                                                           to: URL(fileURLWithPath: root))
        }
        let after = Self.state(below: base.path, skipping: root)
        var problems: [String] = []
        for path in Set(before.keys).union(after.keys).sorted() where before[path] != after[path] {
            problems.append("\(path): \(before[path] ?? "absent") -> \(after[path] ?? "absent")")
        }
        var info = stat()
        if lstat(root, &info) != 0 || info.st_mode & S_IFMT != S_IFDIR {
            problems.append("\(root): the target root is no longer a directory")
        }
        if !problems.isEmpty {
            throw Violation(description: "layer application changed things outside its root:\n" + problems.joined(separator: "\n"))
        }
        return outcome
    }

    /// One line per path below `top` (itself excluded, `skipping` and what is below it too):
    /// everything an escaped write could change.
    static func state(below top: String, skipping: String) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ directory: String) {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
            for name in names {
                let path = directory + "/" + name
                if path == skipping { continue }
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                var line = "mode \(String(info.st_mode, radix: 8)) uid \(info.st_uid) gid \(info.st_gid) size \(info.st_size) "
                    + "links \(info.st_nlink) mtime \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) rdev \(info.st_rdev)"
                switch info.st_mode & S_IFMT {
                case S_IFLNK:
                    line += " -> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")
                case S_IFREG:
                    // The files out here are small (the decoy, the input): compare them whole.
                    line += " content " + (contents(of: path).map { Data($0).base64EncodedString() } ?? "?")
                case S_IFDIR:
                    walk(path)
                default:
                    break
                }
                out[path] = line
            }
        }
        walk(top)
        return out
    }

    /// The bytes of the file at `path`, read with plain system calls: Foundation's
    /// `FileManager.contents(atPath:)` leaked a 4 KiB read buffer (seen with an empty input
    /// file), which LeakSanitizer reported as the fuzz target's one finding.
    static func contents(of path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { return bytes }
            bytes += buffer[..<count]
        }
    }

    /// Removes a tree without following symlinks, making directories writable first (a
    /// layer may have left them read-only).
    static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            chmod(path, 0o700)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                removeTree(path + "/" + name)
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
