import Foundation

extension BaseImages {
    /// The busybox image for `linux/arm64` (`busybox-arm64:latest`): the same tree as
    /// ``busybox()`` around the aarch64 `/bin/busybox` of Debian's `busybox-static:arm64`,
    /// imported with `kiln import --platform linux/arm64`. Made once per test run on first use.
    /// Making it needs no emulator; running its binaries needs a registered `qemu-aarch64`
    /// handler (``Emulators/aarch64()``).
    public static func busyboxArm64() throws -> BaseImage {
        try cachedBusyboxArm64.get()
    }

    private static let cachedBusyboxArm64: Result<BaseImage, any Error> = Result {
        // Making the busybox image empties the shared folder first: let it do so before.
        _ = try? busybox()
        let package = try ForeignDebianPackages.extract("busybox-static", architecture: "arm64")
        return try makeBusyboxImage(binary: package.appendingPathComponent("bin/busybox"),
                                    name: "busybox-arm64", platform: "linux/arm64")
    }
}

/// Debian packages of another architecture, downloaded with `apt-get download PACKAGE:ARCH`
/// and unpacked with `dpkg-deb -x` (never installed): the binaries of foreign base images.
public enum ForeignDebianPackages {
    /// Unpacks `package` for `architecture` (a Debian architecture: `arm64`, `armhf`…) into a
    /// folder of this run's base images and returns it. Adds the architecture to dpkg and
    /// updates the package lists first when apt does not know it yet (as root).
    public static func extract(_ package: String, architecture: String) throws -> URL {
        try ensureArchitecture(architecture)
        let downloads = BaseImages.directory.appendingPathComponent("debs-\(package)-\(architecture)")
        try? FileManager.default.removeItem(at: downloads)
        try FileManager.default.createDirectory(at: downloads, withIntermediateDirectories: true)
        let apt = URL(fileURLWithPath: "/usr/bin/apt-get")
        var download = try ProcessRunner.run(apt, ["download", "-qq", "\(package):\(architecture)"], currentDirectory: downloads)
        if download.status != 0 {
            // Lists older than the mirror (or never fetched for this architecture): update once.
            try updateLists()
            download = try ProcessRunner.run(apt, ["download", "-qq", "\(package):\(architecture)"], currentDirectory: downloads)
        }
        guard download.status == 0,
              let deb = try FileManager.default.contentsOfDirectory(atPath: downloads.path).first(where: { $0.hasSuffix(".deb") })
        else {
            throw BaseImages.FixtureError(description: "apt-get download \(package):\(architecture) failed (\(download.status)): \(download.stderr)")
        }
        let tree = downloads.appendingPathComponent("tree")
        try ProcessRunner.checked("/usr/bin/dpkg-deb", ["-x", downloads.appendingPathComponent(deb).path, tree.path])
        return tree
    }

    /// Adds `architecture` to dpkg's foreign architectures and updates the lists, unless dpkg
    /// already has it (then the lists are only updated when a download fails).
    private static func ensureArchitecture(_ architecture: String) throws {
        let foreign = try ProcessRunner.checked("/usr/bin/dpkg", ["--print-foreign-architectures"]).stdout
        guard !foreign.split(whereSeparator: \.isWhitespace).contains(Substring(architecture)) else { return }
        guard getuid() == 0 else {
            throw BaseImages.FixtureError(description: "dpkg does not know \(architecture) and adding it needs root: dpkg --add-architecture \(architecture) && apt-get update")
        }
        try ProcessRunner.checked("/usr/bin/dpkg", ["--add-architecture", architecture])
        try updateLists()
    }

    private static func updateLists() throws {
        try ProcessRunner.checked("/usr/bin/apt-get", ["update", "-qq"])
    }
}
