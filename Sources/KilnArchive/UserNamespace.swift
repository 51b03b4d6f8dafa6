import Foundation

/// The user namespace this process runs in: the one fact that decides what being root here
/// allows (overlayfs needs `userxattr`, device nodes cannot be made, `trusted.*` xattrs
/// cannot be set).
public enum UserNamespace {
    /// Whether the process runs in a user namespace other than the host's: its `uid_map` is
    /// not the identity over every id.
    public static let isNested: Bool = {
        let map = (try? String(contentsOfFile: "/proc/self/uid_map", encoding: .utf8)) ?? ""
        let fields = map.split(whereSeparator: \.isWhitespace)
        return !(fields.count == 3 && fields[0] == "0" && fields[1] == "0" && fields[2] == "4294967295")
    }()

    /// How many user ids (`groups`: group ids) this namespace has: the counts of its
    /// `/proc/self/uid_map` (`gid_map`) added up.
    public static func mappedIDs(groups: Bool = false) -> Int {
        let map = (try? String(contentsOfFile: groups ? "/proc/self/gid_map" : "/proc/self/uid_map", encoding: .utf8)) ?? ""
        return map.split(separator: "\n").reduce(0) { total, line in
            total + (line.split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) } ?? 0)
        }
    }

    /// This process's user id as the host's user namespace sees it (through
    /// `/proc/self/uid_map`); the id itself when the map does not hold it.
    public static var hostUID: UInt32 {
        let map = (try? String(contentsOfFile: "/proc/self/uid_map", encoding: .utf8)) ?? ""
        let uid = UInt64(geteuid())
        for line in map.split(separator: "\n") {
            let fields = line.split(whereSeparator: \.isWhitespace).compactMap { UInt64($0) }
            if fields.count == 3, uid >= fields[0], uid - fields[0] < fields[2] { return UInt32(truncatingIfNeeded: fields[1] + uid - fields[0]) }
        }
        return UInt32(uid)
    }

    /// Whether this process may make device nodes: root of the host's user namespace.
    public static var canMakeDevices: Bool { geteuid() == 0 && !isNested }
}
