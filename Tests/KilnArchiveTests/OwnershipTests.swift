import CArchive
import Foundation
import KilnArchive
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct OwnershipTests {
    @Test(.enabled(if: geteuid() == 0, "chown needs root"))
    func ownersAndSetuidSurviveAsRoot() throws {
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        let file = source.appendingPathComponent("tool")
        try Data("#!/bin/sh\n".utf8).write(to: file)
        chown(file.path, 1234, 5678)
        chmod(file.path, 0o6755)
        symlink("tool", source.appendingPathComponent("link").path)
        lchown(source.appendingPathComponent("link").path, 42, 43)
        let dir = source.appendingPathComponent("dir")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        chown(dir.path, 3_000_000, 3_000_001)  // beyond ustar's 7 octal digits: needs PAX
        let server = source.appendingPathComponent("server")
        try Data("bin".utf8).write(to: server)
        chown(server.path, 0, 0)
        #expect(setxattr(server.path, "security.capability", Self.netBindService, Self.netBindService.count, 0) == 0)
        let layer = scratch.path("layer.tar.gz")
        _ = try LayerWriter(compression: .parallelGzip()).write(directory: source, to: layer)

        let members = Dictionary(uniqueKeysWithValues: try TarInspection.members(of: layer).map { ($0.name, $0) })
        #expect(members["tool"]?.uid == 1234 && members["tool"]?.gid == 5678)
        #expect(members["dir"]?.pax["uid"] == "3000000" && members["dir"]?.pax["gid"] == "3000001")
        #expect(members["server"]?.pax["SCHILY.xattr.security.capability"] == "hex:" + Self.netBindService.map {
            String(format: "%02x", $0) }.joined())

        let target = try scratch.directory("target")
        _ = try LayerApplier().apply(layer: layer, to: target)
        for (path, uid, gid) in [("tool", 1234, 5678), ("link", 42, 43), ("dir", 3_000_000, 3_000_001)] {
            var info = stat()
            lstat(target.appendingPathComponent(path).path, &info)
            #expect(Int(info.st_uid) == uid && Int(info.st_gid) == gid, "\(path)")
        }
        var info = stat()
        lstat(target.appendingPathComponent("tool").path, &info)
        #expect(info.st_mode & 0o7777 == 0o6755)
        var capability = [UInt8](repeating: 0, count: 64)
        let length = getxattr(target.appendingPathComponent("server").path, "security.capability", &capability, 64)
        #expect(length > 0 && Array(capability[..<max(length, 0)]) == Self.netBindService)
    }

    /// A `vfs_cap_data` revision 2 granting CAP_NET_BIND_SERVICE (bit 10), effective.
    static let netBindService: [UInt8] = [0x01, 0, 0, 0x02, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]

    @Test func unprivilegedApplyKeepsTheCallersOwnership() throws {
        let scratch = try Scratch()
        let source = try scratch.directory("source")
        let file = source.appendingPathComponent("f")
        try Data("x".utf8).write(to: file)
        chown(file.path, 1234, 5678)
        let layer = scratch.path("layer")
        _ = try LayerWriter(compression: .gzip()).write(directory: source, to: layer)
        let target = try scratch.directory("target")
        _ = try LayerApplier(privileged: false).apply(layer: layer, to: target)
        var info = stat()
        lstat(target.appendingPathComponent("f").path, &info)
        #expect(info.st_uid == geteuid())
    }
}
