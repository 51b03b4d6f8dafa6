// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Kiln",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
        .library(name: "KilnDockerfile", targets: ["KilnDockerfile"]),
        .library(name: "KilnOCI", targets: ["KilnOCI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // The Dockerfile frontend: text → AST → typed instructions → stages. No dependencies by design.
        .target(name: "KilnDockerfile"),
        // OCI value types: digests, media types, descriptors, manifests, configs, references.
        .target(name: "KilnOCI", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // C libraries from Debian: libarchive-dev, libzstd-dev, zlib1g-dev.
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Tar layers: writing, applying, compression codecs, streaming digests.
        .target(name: "KilnArchive", dependencies: ["KilnOCI", "CArchive", "CZstd", "CZlib"]),
        // Local state: content store, snapshots and diffs, rootfs materialisation.
        .target(name: "KilnStorage", dependencies: ["KilnOCI", "KilnArchive"]),
        // Images as values (manifest, config, lazily opened layers) and their on-disk forms:
        // OCI image layouts (directory or tar) and docker-archive tarballs.
        .target(name: "KilnImage", dependencies: ["KilnOCI", "KilnArchive", "KilnStorage", "CArchive"]),
        .executableTarget(
            name: "kiln",
            dependencies: [
                "KilnDockerfile",
                "KilnImage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fixtures shared by every test target (conformance data location, running the kiln binary).
        .target(name: "KilnTestSupport", path: "Tests/KilnTestSupport"),
        .testTarget(name: "KilnDockerfileTests", dependencies: ["KilnDockerfile", "KilnTestSupport"]),
        .testTarget(name: "KilnOCITests", dependencies: ["KilnOCI", "KilnTestSupport"]),
        .testTarget(name: "KilnArchiveTests", dependencies: ["KilnArchive", "KilnTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "KilnStorageTests", dependencies: ["KilnStorage", "KilnTestSupport"]),
        .testTarget(name: "KilnImageTests", dependencies: ["KilnImage", "KilnTestSupport"]),
    ]
)
