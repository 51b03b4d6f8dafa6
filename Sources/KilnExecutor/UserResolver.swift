import Foundation

/// The numeric identity a `USER` value resolves to inside one rootfs.
public struct ResolvedUser: Sendable, Equatable {
    /// User id.
    public var uid: UInt32
    /// Primary group id.
    public var gid: UInt32
    /// Supplementary group ids, from `/etc/group` membership.
    public var additionalGids: [UInt32]
    /// Home directory from `/etc/passwd`; `/` when the user has no entry.
    public var home: String

    /// Creates a resolved user.
    public init(uid: UInt32, gid: UInt32, additionalGids: [UInt32] = [], home: String = "/") {
        self.uid = uid
        self.gid = gid
        self.additionalGids = additionalGids
        self.home = home
    }
}

/// Why a `USER` value cannot be resolved; messages match Docker's.
public enum UserResolutionError: Error, Equatable, CustomStringConvertible {
    /// A user name with no passwd entry.
    case unknownUser(String)
    /// A group name with no group entry.
    case unknownGroup(String)

    /// The message Docker prints.
    public var description: String {
        switch self {
        case .unknownUser(let name): return "unable to find user \(name): no matching entries in passwd file"
        case .unknownGroup(let name): return "unable to find group \(name): no matching entries in group file"
        }
    }
}

/// Resolves `USER` values against a rootfs's `/etc/passwd` and `/etc/group`, the way runc's
/// libcontainer does for Docker: the files are read from the image, never from the host.
public struct UserResolver: Sendable {
    private struct PasswdEntry {
        var name: String
        var uid: UInt32
        var gid: UInt32
        var home: String
    }

    private struct GroupEntry {
        var name: String
        var gid: UInt32
        var members: [String]
    }

    private let passwd: [PasswdEntry]
    private let groups: [GroupEntry]

    /// Reads the account files of `rootfs`; missing files count as empty, as in Docker.
    public init(rootfs: URL) {
        self.init(
            passwd: Self.read(rootfs.appendingPathComponent("etc/passwd")),
            group: Self.read(rootfs.appendingPathComponent("etc/group")))
    }

    /// Uses the given file contents.
    public init(passwd: String, group: String) {
        self.passwd = Self.records(passwd, minimumFields: 7).compactMap { fields in
            guard let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) else { return nil }
            return PasswdEntry(name: fields[0], uid: uid, gid: gid, home: fields[5])
        }
        self.groups = Self.records(group, minimumFields: 4).compactMap { fields in
            guard let gid = UInt32(fields[2]) else { return nil }
            let members = fields[3].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return GroupEntry(name: fields[0], gid: gid, members: members)
        }
    }

    /// Resolves `spec` (`name`, `uid`, `name:group`, `uid:gid`; empty means root).
    public func resolve(_ spec: String) throws -> ResolvedUser {
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts.first ?? ""
        let groupPart = parts.count > 1 ? parts[1] : ""

        var user = ResolvedUser(uid: 0, gid: 0)
        var matchedName: String?
        if userPart.isEmpty {
            if let root = passwd.first(where: { $0.uid == 0 }) {
                matchedName = root.name
                user.home = root.home
            }
        } else {
            let numeric = UInt32(userPart)
            if let entry = passwd.first(where: { $0.name == userPart || (numeric != nil && $0.uid == numeric) }) {
                user = ResolvedUser(uid: entry.uid, gid: entry.gid, home: entry.home)
                matchedName = entry.name
            } else if let numeric {
                // A uid without an entry is allowed; it runs with gid 0, as Docker does.
                user.uid = numeric
            } else {
                throw UserResolutionError.unknownUser(userPart)
            }
        }

        if !groupPart.isEmpty {
            let numeric = UInt32(groupPart)
            if let entry = groups.first(where: { $0.name == groupPart || (numeric != nil && $0.gid == numeric) }) {
                user.gid = entry.gid
            } else if let numeric {
                user.gid = numeric
            } else {
                throw UserResolutionError.unknownGroup(groupPart)
            }
        }
        // The primary group is always a supplementary group too, as containerd, BuildKit and
        // Buildah set it since CVE-2023-25173 (else the process could keep groups it should
        // not have); member groups from /etc/group only when no group was given (runc's rule).
        var gids = [user.gid]
        if groupPart.isEmpty, let matchedName {
            gids += groups.filter { $0.members.contains(matchedName) }.map(\.gid)
        }
        var seen = Set<UInt32>()
        user.additionalGids = gids.filter { seen.insert($0).inserted }
        return user
    }

    private static func read(_ url: URL) -> String {
        (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }

    private static func records(_ text: String, minimumFields: Int) -> [[String]] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { return nil }
            let fields = trimmed.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            return fields.count >= minimumFields ? fields : nil
        }
    }
}
