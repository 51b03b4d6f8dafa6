import Foundation

/// The user namespace this process runs in: the one fact that decides what being root here
/// allows (overlayfs needs `userxattr`, device nodes cannot be made, `trusted.*` xattrs
/// cannot be set).
public enum UserNamespace {
    /// Whether the process runs in a user namespace other than the host's: its `uid_map` is
    /// not the identity over every id.
    public static let isNested: Bool = {
        let map = ranges()
        return !(map.count == 1 && map[0] == IDRange(inside: 0, outside: 0, count: 4_294_967_295))
    }()

    /// One line of an id map: `count` ids from `inside` on are ids from `outside` on in the
    /// parent namespace.
    struct IDRange: Equatable {
        let inside: UInt64, outside: UInt64, count: UInt64
    }

    /// The ranges of `/proc/self/uid_map` (`groups`: `gid_map`); none when it cannot be read.
    static func ranges(groups: Bool = false) -> [IDRange] {
        let map = (try? String(contentsOfFile: groups ? "/proc/self/gid_map" : "/proc/self/uid_map", encoding: .utf8)) ?? ""
        return map.split(separator: "\n").compactMap { line in
            let fields = line.split(whereSeparator: \.isWhitespace).compactMap { UInt64($0) }
            return fields.count == 3 ? IDRange(inside: fields[0], outside: fields[1], count: fields[2]) : nil
        }
    }

    /// How many user ids (`groups`: group ids) this namespace has: the counts of its
    /// `/proc/self/uid_map` (`gid_map`) added up.
    public static func mappedIDs(groups: Bool = false) -> Int {
        ranges(groups: groups).reduce(0) { $0 + Int($1.count) }
    }

    /// This process's user id as the host's user namespace sees it (through
    /// `/proc/self/uid_map`); the id itself when the map does not hold it.
    public static var hostUID: UInt32 {
        let uid = UInt64(geteuid())
        guard let range = ranges().first(where: { uid >= $0.inside && uid - $0.inside < $0.count }) else { return UInt32(uid) }
        return UInt32(truncatingIfNeeded: range.outside + uid - range.inside)
    }

    /// Whether this process may make device nodes: root of the host's user namespace.
    public static var canMakeDevices: Bool { geteuid() == 0 && !isNested }
}
