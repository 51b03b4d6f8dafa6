import Foundation
import Glibc
import KilnArchive
import KilnTestSupport
import Testing
@testable import KilnStorage

/// The one rule of which extended attributes count (`Xattrs.role(of:)`), seen from both of its
/// readers: a snapshot (copy-mode diff, overlay diff) and a layer written from the same tree.
@Suite struct RecordedXattrsTests {
    /// `security.capability` v2 granting `cap_net_raw` (bit 13) permitted and effective: the
    /// bytes `setcap cap_net_raw+ep` writes.
    static let netRawCapability: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00] + [UInt8](repeating: 0, count: 12)

    /// `system.posix_acl_access` granting uid 1 read (user::rw-, user:1:r--, group::r--,
    /// mask::r--, other::r--): an ACL beyond the mode bits, so the kernel keeps it as an xattr.
    static let acl: [UInt8] = hexBytes("0200000001000600ffffffff020004000100000004000400ffffffff10000400ffffffff20000400ffffffff")

    static func hexBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    static let attributes: [String: [UInt8]] = [
        "system.posix_acl_access": acl,
        "trusted.overlay.opaque": Array("y".utf8),
        "user.overlay.origin": Array("o".utf8),
        "user.x": Array("1".utf8),
        "security.capability": netRawCapability,
    ]

    @Test func snapshotAndLayerRecordTheSameAttributes() async throws {
        try #require(geteuid() == 0, "trusted.* and security.capability need root")
        try await withTemporaryDirectory { scratch in
            let tree = scratch.appendingPathComponent("tree")
            try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
            let file = tree.appendingPathComponent("f")
            try Data("x".utf8).write(to: file)
            for (name, value) in Self.attributes {
                let status = value.withUnsafeBytes { LinuxCalls.lsetxattr(file.path, name, $0.baseAddress, $0.count, 0) }
                try #require(status == 0, "lsetxattr \(name): \(String(cString: strerror(errno)))")
            }
            let recorded = ["security.capability": Self.netRawCapability, "user.x": Array("1".utf8)]

            // The snapshot's reading: what it compares, and the markers kept apart for the overlay diff.
            let snapshot = try await Snapshot.capture(tree)
            #expect(snapshot.entries["f"]?.xattrs == recorded)
            #expect(snapshot.entries["f"]?.overlayMarkers.keys.sorted() == ["trusted.overlay.opaque", "user.overlay.origin"])
            #expect(snapshot.entries["f"]?.hostXattrs == ["system.posix_acl_access": Self.acl])

            // The layer's reading: the tar entry carries exactly the same attributes.
            let layer = scratch.appendingPathComponent("layer.tar")
            _ = try LayerWriter(compression: .none).write(directory: tree, to: layer)
            let listing = try ProcessRunner.checked("python3", ["-c", """
                import sys, tarfile
                for m in tarfile.open(sys.argv[1]):
                    if m.name == "f":
                        print("\\n".join(sorted(k for k in m.pax_headers if k.startswith("SCHILY.xattr."))))
                """, layer.path])
            #expect(listing.stdout.split(separator: "\n") == ["SCHILY.xattr.security.capability", "SCHILY.xattr.user.x"])

            // And a tree unpacked from that layer reads back as the snapshot did, markers gone.
            let applied = scratch.appendingPathComponent("applied")
            try FileManager.default.createDirectory(at: applied, withIntermediateDirectories: true)
            _ = try LayerApplier().apply(layer: layer, to: applied)
            let unpacked = try await Snapshot.capture(applied)
            #expect(unpacked.entries["f"]?.xattrs == recorded)
            #expect(unpacked.entries["f"]?.overlayMarkers == [:])
            #expect(unpacked.entries["f"]?.hostXattrs == [:])
        }
    }

    @Test func roleOfEachNamespace() {
        #expect(Xattrs.role(of: "user.x") == .recorded)
        #expect(Xattrs.role(of: "security.capability") == .recorded)
        #expect(Xattrs.role(of: "trusted.md5") == .recorded)
        #expect(Xattrs.role(of: "trusted.overlay.opaque") == .overlayMarker)
        #expect(Xattrs.role(of: "user.overlay.redirect") == .overlayMarker)
        #expect(Xattrs.role(of: "system.posix_acl_access") == .host)
        #expect(Xattrs.role(of: "security.selinux") == .host)
    }
}
