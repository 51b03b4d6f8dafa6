// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Kiln",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
        .library(name: "KilnDockerfile", targets: ["KilnDockerfile"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The Dockerfile frontend: text → AST → typed instructions → stages. No dependencies by design.
        .target(name: "KilnDockerfile"),
        .executableTarget(
            name: "kiln",
            dependencies: [
                "KilnDockerfile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fixtures shared by every test target (conformance data location, running the kiln binary).
        .target(name: "KilnTestSupport", path: "Tests/KilnTestSupport"),
        .testTarget(name: "KilnDockerfileTests", dependencies: ["KilnDockerfile", "KilnTestSupport"]),
    ]
)
