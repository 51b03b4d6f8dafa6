import Foundation

extension BaseImages {
    /// The Debian packages of ``debianPackageManagers()`` beyond debootstrap's minbase:
    /// Maven with the JDK it compiles with, and pip.
    public static let packageManagerPackages = ["maven", "openjdk-17-jdk-headless", "python3-pip"]

    /// The Debian mirror debootstrap reads: `$KILN_DEBIAN_MIRROR`, else Debian's own.
    public static var debianMirror: String {
        let mirror = ProcessInfo.processInfo.environment["KILN_DEBIAN_MIRROR"] ?? ""
        return mirror.isEmpty ? "http://deb.debian.org/debian" : mirror
    }

    /// Whether debootstrap is installed (the image is made with it, as root).
    public static var canMakeDebian: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/debootstrap") && getuid() == 0
    }

    /// A Debian bookworm base (`debootstrap --variant=minbase`, no recommends) with Maven, a
    /// JDK and pip, for builds whose RUN steps resolve dependencies with real package
    /// managers. Made once per test run on first use (debootstrap downloads the packages from
    /// ``debianMirror``, a few minutes), imported with the built `kiln import`.
    public static func debianPackageManagers() throws -> BaseImage {
        try cachedDebianPackageManagers.get()
    }

    private static let cachedDebianPackageManagers: Result<BaseImage, any Error> = Result {
        try makeDebian(name: "debian-package-managers", including: packageManagerPackages)
    }

    /// A Debian bookworm base of debootstrap's minbase alone (`debian-minimal:latest`), for
    /// builds that install packages themselves. Made once per test run on first use.
    public static func debianMinimal() throws -> BaseImage {
        try cachedDebianMinimal.get()
    }

    private static let cachedDebianMinimal: Result<BaseImage, any Error> = Result {
        try makeDebian(name: "debian-minimal", including: [])
    }

    /// debootstraps minbase with `packages` and imports it as `name:latest`.
    static func makeDebian(name: String, including packages: [String]) throws -> BaseImage {
        // Making the busybox image empties the shared folder first: let it do so before.
        _ = try? busybox()
        let root = directory.appendingPathComponent("\(name)-rootfs")
        try? FileManager.default.removeItem(at: root)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let debootstrap = try ProcessRunner.run(
            URL(fileURLWithPath: "/usr/sbin/debootstrap"),
            ["--variant=minbase"] + (packages.isEmpty ? [] : ["--include=" + packages.joined(separator: ",")])
                + ["bookworm", root.path, debianMirror])
        guard debootstrap.status == 0 else {
            throw FixtureError(description: "debootstrap of the Debian base failed (\(debootstrap.status)): "
                               + String((debootstrap.stdout + debootstrap.stderr).suffix(4000)))
        }
        // The downloaded packages are no part of the image.
        let archives = root.appendingPathComponent("var/cache/apt/archives")
        for file in (try? FileManager.default.contentsOfDirectory(atPath: archives.path)) ?? [] where file.hasSuffix(".deb") {
            try FileManager.default.removeItem(at: archives.appendingPathComponent(file))
        }
        let layout = directory.appendingPathComponent("\(name)-layout")
        let result = try KilnBinary.run(
            ["import", root.path, "--output", "type=oci,dest=\(layout.path)", "--tag", "\(name):latest",
             "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "--change", #"CMD ["bash"]"#],
            environment: ["SOURCE_DATE_EPOCH": "0"])
        guard result.status == 0 else {
            throw FixtureError(description: "kiln import of the Debian base failed (\(result.status)): \(result.stderr)")
        }
        return BaseImage(rootfs: root, layout: layout, refName: "latest",
                         digest: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
