import Foundation
@testable import KilnStorage

/// Entry-by-entry differences between two trees: paths, kinds, modes, owners, mtimes, sizes,
/// symlink targets, device numbers, xattrs, file content and the hardlink structure.
/// Empty when the trees are equal.
func treeDifferences(_ expected: URL, _ actual: URL) async throws -> [String] {
    let left = try await Snapshot.capture(expected)
    let right = try await Snapshot.capture(actual)
    var problems: [String] = []
    for path in Set(left.entries.keys).symmetricDifference(right.entries.keys).sorted() {
        problems.append("\(path): only in \(left.entries[path] == nil ? "actual" : "expected")")
    }
    var leftGroups: [HardlinkKey: [String]] = [:]
    var rightGroups: [HardlinkKey: [String]] = [:]
    for path in left.entries.keys.sorted() {
        guard let a = left.entries[path], let b = right.entries[path] else { continue }
        var fields: [String] = []
        if a.kind != b.kind { fields.append("kind \(a.kind) vs \(b.kind)") }
        if a.permissions != b.permissions && a.kind != .symlink {
            fields.append("mode \(String(a.permissions, radix: 8)) vs \(String(b.permissions, radix: 8))")
        }
        if a.uid != b.uid || a.gid != b.gid { fields.append("owner \(a.uid):\(a.gid) vs \(b.uid):\(b.gid)") }
        if a.mtime != b.mtime { fields.append("mtime \(a.mtime) vs \(b.mtime)") }
        if a.kind == b.kind && a.kind != .directory && a.size != b.size { fields.append("size \(a.size) vs \(b.size)") }
        if a.symlinkTarget != b.symlinkTarget { fields.append("target \(a.symlinkTarget ?? "-") vs \(b.symlinkTarget ?? "-")") }
        if a.rdev != b.rdev { fields.append("rdev \(a.rdev) vs \(b.rdev)") }
        if a.xattrs != b.xattrs { fields.append("xattrs \(a.xattrs.keys.sorted()) vs \(b.xattrs.keys.sorted())") }
        if a.kind == .regular && b.kind == .regular,
           (try? Data(contentsOf: expected.appendingPathComponent(path))) != (try? Data(contentsOf: actual.appendingPathComponent(path))) {
            fields.append("content")
        }
        if a.kind == .regular && b.kind == .regular {
            leftGroups[HardlinkKey(a), default: []].append(path)
            rightGroups[HardlinkKey(b), default: []].append(path)
        }
        if !fields.isEmpty { problems.append("\(path): " + fields.joined(separator: ", ")) }
    }
    let leftLinks = Set(leftGroups.values.filter { $0.count > 1 })
    let rightLinks = Set(rightGroups.values.filter { $0.count > 1 })
    for group in leftLinks.symmetricDifference(rightLinks).sorted(by: { $0.description < $1.description }) {
        problems.append("hardlink group \(group) only in \(leftLinks.contains(group) ? "expected" : "actual")")
    }
    return problems
}
