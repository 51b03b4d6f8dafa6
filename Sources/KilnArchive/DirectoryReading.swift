#if canImport(Glibc)
import Glibc
#endif

/// Reading names relative to open directory descriptors: the one way both the writer's
/// source tree and the applier's contained root look at directories and symlinks.
/// Both return nil with `errno` set on failure, so each caller maps errors its own way.
enum DirectoryReading {
    /// One name in a directory and its `d_type` (`DT_UNKNOWN` on filesystems that do not say).
    struct Entry {
        var name: String
        var type: UInt8
    }

    /// The entries of the directory open as `directoryFD`, without `.` and `..`.
    static func entries(of directoryFD: Int32) -> [Entry]? {
        // fdopendir takes ownership of its descriptor, so hand it a fresh one.
        let fd = openat(directoryFD, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard let dir = fdopendir(fd) else {
            close(fd)
            return nil
        }
        defer { closedir(dir) }
        var entries: [Entry] = []
        while let item = readdir(dir) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { entries.append(Entry(name: name, type: item.pointee.d_type)) }
        }
        return entries
    }

    /// The target of the symlink `name` in `directoryFD`.
    static func symlinkTarget(_ directoryFD: Int32, _ name: String) -> String? {
        var capacity = 256
        while true {
            var target = [CChar](repeating: 0, count: capacity)
            let n = readlinkat(directoryFD, name, &target, capacity)
            if n < 0 { return nil }
            if n < capacity { return String(decoding: target[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
            capacity *= 2
        }
    }
}
