import Foundation

extension BaseImages {
    /// The packages of ``debianCrossCompiler()`` beyond minbase: gcc and the C library for the
    /// build machine, and Debian's aarch64 cross-compiler with the arm64 C library it links.
    public static let crossCompilerPackages = ["gcc", "libc6-dev", "gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"]

    /// A Debian bookworm amd64 base with ``crossCompilerPackages`` (`debian-cross:latest`), for
    /// stages that run on the build platform and compile for the target platform
    /// (`aarch64-linux-gnu-gcc -static`). debootstrap resolves the packages' dependencies from
    /// ``debianMirror``, so no RUN step needs a network. Made once per test run on first use.
    public static func debianCrossCompiler() throws -> BaseImage {
        try cachedDebianCrossCompiler.get()
    }

    private static let cachedDebianCrossCompiler: Result<BaseImage, any Error> = Result {
        try makeDebian(name: "debian-cross", including: crossCompilerPackages)
    }

    /// A Debian bookworm arm64 base of debootstrap's minbase (`debian-arm64:latest`): the first
    /// stage (`debootstrap --foreign --arch=arm64`, which only downloads and unpacks) runs on
    /// this machine, the second (the packages' maintainer scripts, arm64 binaries) is a RUN step
    /// of a `kiln build --platform linux/arm64`, so Kiln itself runs it under QEMU. Made once
    /// per test run on first use; the emulated second stage takes a few minutes.
    public static func debianArm64() throws -> BaseImage {
        try cachedDebianArm64.get()
    }

    private static let cachedDebianArm64: Result<BaseImage, any Error> = Result { try makeDebianArm64() }

    /// The Dockerfile that finishes the foreign tree `rootfs/` under emulation. debootstrap
    /// leaves the downloaded packages in the tree; the RUN removes them (the COPY layer still
    /// holds them: the image is a test base, not a small one).
    static let debianArm64Dockerfile = """
        FROM scratch
        COPY rootfs/ /
        RUN /debootstrap/debootstrap --second-stage && rm -f /var/cache/apt/archives/*.deb
        ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        CMD ["bash"]

        """

    private static func makeDebianArm64() throws -> BaseImage {
        // Making the busybox image empties the shared folder first: let it do so before.
        _ = try? busybox()
        try Emulators.aarch64()
        let context = directory.appendingPathComponent("debian-arm64-context")
        let root = context.appendingPathComponent("rootfs")
        try? FileManager.default.removeItem(at: context)
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        let debootstrap = try ProcessRunner.run(
            URL(fileURLWithPath: "/usr/sbin/debootstrap"),
            ["--foreign", "--arch=arm64", "--variant=minbase", "bookworm", root.path, debianMirror])
        guard debootstrap.status == 0 else {
            throw FixtureError(description: "debootstrap --foreign --arch=arm64 failed (\(debootstrap.status)): "
                               + String((debootstrap.stdout + debootstrap.stderr).suffix(4000)))
        }
        // Inside a container debootstrap makes /proc a symlink to the host's /proc; a runtime
        // mounts proc there and needs a directory.
        let proc = root.appendingPathComponent("proc")
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: proc.path)) != nil {
            try FileManager.default.removeItem(at: proc)
            try FileManager.default.createDirectory(at: proc, withIntermediateDirectories: false)
        }
        try Data(debianArm64Dockerfile.utf8).write(to: context.appendingPathComponent("Dockerfile"))
        let layout = directory.appendingPathComponent("debian-arm64-layout")
        let refName = "debian-arm64:latest"
        let result = try KilnBinary.run(
            ["build", "--progress", "plain", "--platform", "linux/arm64",
             "--output", "type=oci,dest=\(layout.path),name=\(refName)", context.path],
            environment: ["SOURCE_DATE_EPOCH": "0", "KILN_ROOT": directory.appendingPathComponent("debian-arm64-kiln-root").path])
        guard result.status == 0 else {
            throw FixtureError(description: "kiln build of the arm64 Debian base (second stage under QEMU) failed (\(result.status)): "
                               + String(result.stderr.suffix(4000)))
        }
        // The build's store is no part of the fixture: only the layout is read from here on.
        try? FileManager.default.removeItem(at: directory.appendingPathComponent("debian-arm64-kiln-root"))
        return BaseImage(rootfs: root, layout: layout, refName: refName,
                         digest: try OCILayoutSummary(layout: layout).manifestDigest)
    }
}
