import Foundation
import KilnImage
import KilnOCI
import KilnTestSupport

extension DistributionFixtures {
    /// busybox's tree imported by `kiln import --platform platform` into a layout of its own
    /// (nothing runs it, so the binaries need not be of that platform): a second image with
    /// another platform in its config, for indexes.
    static func busybox(labelled platform: String, in directory: URL) throws -> LayoutImage {
        let layout = directory.appendingPathComponent("busybox-\(platform.replacingOccurrences(of: "/", with: "-"))")
        let result = try KilnBinary.run(
            ["import", try BaseImages.busybox().rootfs.path, "--platform", platform, "--output", "type=oci,dest=\(layout.path)",
             "--tag", "busybox:1"],
            environment: ["SOURCE_DATE_EPOCH": "0", "KILN_ROOT": directory.appendingPathComponent("import-root").path])
        guard result.status == 0 else {
            throw ImportFailure(description: "kiln import --platform \(platform) failed: \(result.stderr)")
        }
        return try OCILayout(at: layout).image(reference: "1")
    }
}

/// A fixture image `kiln import` could not make.
struct ImportFailure: Error, CustomStringConvertible {
    let description: String
}
