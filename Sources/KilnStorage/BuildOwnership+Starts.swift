import Foundation
import Glibc

extension BuildOwnership {
    /// When each build running on `root` started: the mtime of its `owners/<id>.lock`, made
    /// when it started and never written again (its record is rewritten when the runtime is
    /// found). What these builds stacked, they touched at or after their start, so a snapshot
    /// last used before the oldest of them is in no live build's use.
    public static func liveBuildStarts(root: KilnRoot) -> [Date] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.owners.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.compactMap { name in
            var info = stat()
            let lock = root.owners.path + "/" + name.dropLast(5) + ".lock"
            guard stat(lock, &info) == 0 else { return nil }
            return Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))
        }
    }
}
