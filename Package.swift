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
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // Already in the graph through async-http-client; named so registries can get extra CAs.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
    ],
    targets: [
        // The Dockerfile frontend: text → AST → typed instructions → stages. No dependencies by design.
        .target(name: "KilnDockerfile"),
        // OCI value types: digests, media types, descriptors, manifests, configs, references.
        .target(name: "KilnOCI", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // The one bounded-concurrency loop (at most N tasks at once, first error cancels the rest).
        .target(name: "KilnConcurrency"),
        // C libraries from Debian: libarchive-dev, libzstd-dev, zlib1g-dev.
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Whole-block deflate for parallel gzip members: about 2.4× zlib's speed at level 6,
        // with output at least as small (zlib stays for streams and for inflating).
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        // Tar layers: writing, applying, compression codecs, streaming digests.
        .target(name: "KilnArchive", dependencies: ["KilnOCI", "CArchive", "CZstd", "CZlib", "CDeflate"]),
        // Local state: content store, snapshots and diffs, rootfs materialisation.
        .target(name: "KilnStorage", dependencies: ["KilnOCI", "KilnArchive", "KilnConcurrency"]),
        // Images as values (manifest, config, lazily opened layers) and their on-disk forms:
        // OCI image layouts (directory or tar) and docker-archive tarballs.
        .target(name: "KilnImage", dependencies: ["KilnOCI", "KilnArchive", "KilnStorage", "KilnConcurrency", "CArchive"]),
        // Distribution-spec client: auth, blobs, manifests, uploads, retries.
        .target(
            name: "KilnRegistry",
            dependencies: [
                "KilnOCI", "KilnStorage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        // The chroot isolation's spawn: what runs between fork and execve (async-signal-safe
        // calls, variadic prctl/syscall) and the mounts of /proc, which Swift cannot call.
        .target(name: "CChroot"),
        // Replays a recorded rootless entry before main (see IsolationEntry+Record.swift).
        .target(name: "CRecordedEntry"),
        // Runs RUN steps in an OCI runtime (runc or crun) on a rootfs directory, without a daemon,
        // or chrooted where no namespace can be made.
        .target(
            name: "KilnExecutor",
            dependencies: [
                "KilnOCI", "KilnArchive", "KilnStorage", "CChroot",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // Moving whole images: registry ⇄ content store ⇄ layouts (pull, push, copy, mirrors,
        // bounded parallel transfers). The registry side of `ImageSource` for the builder.
        .target(
            name: "KilnDistribution",
            dependencies: [
                "KilnOCI", "KilnRegistry", "KilnStorage", "KilnImage", "KilnArchive", "KilnConcurrency",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Cache key v1, the CacheBackend protocol and the local backend.
        .target(
            name: "KilnCache",
            dependencies: ["KilnOCI", "KilnStorage", "KilnRegistry", "KilnConcurrency", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // COPY and ADD: the build context, sources read and digested, files written into a rootfs.
        .target(
            name: "KilnFileOps",
            dependencies: [
                "KilnDockerfile", "KilnOCI", "KilnArchive", "KilnStorage", "KilnRegistry", "KilnExecutor",
                "KilnConcurrency", "CArchive",
                // ADD <url> downloads.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // `kiln build`: plan execution, step handlers (RUN, COPY/ADD, metadata), exporters, events.
        .target(
            name: "KilnBuilder",
            dependencies: [
                "KilnDockerfile", "KilnOCI", "KilnArchive", "KilnStorage", "KilnImage", "KilnRegistry",
                "KilnDistribution", "KilnCache", "KilnExecutor", "KilnConcurrency", "KilnFileOps",
            ]
        ),
        .executableTarget(
            name: "kiln",
            dependencies: [
                "KilnDockerfile",
                "KilnStorage",
                "KilnImage",
                "KilnRegistry",
                "KilnDistribution",
                "KilnCache",
                "KilnBuilder",
                "KilnFileOps",
                "CRecordedEntry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fixtures shared by every test target (conformance data location, running the kiln binary).
        .target(name: "KilnTestSupport", path: "Tests/KilnTestSupport"),
        .testTarget(name: "KilnDockerfileTests", dependencies: ["KilnDockerfile", "KilnTestSupport"]),
        .testTarget(name: "KilnCLITests", dependencies: ["kiln", "KilnTestSupport"]),
        .testTarget(name: "KilnOCITests", dependencies: ["KilnOCI", "KilnTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "KilnArchiveTests", dependencies: ["KilnArchive", "KilnTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "KilnStorageTests", dependencies: ["KilnStorage", "KilnArchive", "KilnTestSupport"]),
        .testTarget(name: "KilnConcurrencyTests", dependencies: ["KilnConcurrency"]),
        .testTarget(
            name: "KilnRegistryTests",
            dependencies: [
                "KilnRegistry", "KilnTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "KilnExecutorTests", dependencies: ["KilnExecutor", "KilnStorage", "KilnTestSupport"]),
        .testTarget(name: "KilnImageTests", dependencies: ["KilnImage", "KilnTestSupport"]),
        .testTarget(name: "KilnCacheTests", dependencies: ["KilnCache", "KilnRegistry", "KilnStorage", "KilnTestSupport"]),
        .testTarget(
            name: "KilnDistributionTests",
            dependencies: ["KilnDistribution", "KilnRegistry", "KilnImage", "KilnStorage", "KilnTestSupport"]
        ),
        .testTarget(
            name: "KilnBuilderTests",
            dependencies: [
                "KilnBuilder", "KilnFileOps", "KilnDockerfile", "KilnImage", "KilnStorage", "KilnTestSupport", "KilnOCI",
                "KilnCache", "KilnExecutor",
            ],
            exclude: ["Fixtures"]
        ),
    ]
)
