// swift-tools-version: 6.2
// A tiny package that uses WeightKit as a library, the way another project would.
// `swift run --package-path Examples/LibraryDemo LibraryDemo` from the repository root;
// Tests/WeightKitCLITests/LibraryDemoTests.swift builds and runs it.
import PackageDescription

let package = Package(
    name: "LibraryDemo",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The repository root; `name:` fixes the identity whatever the clone's folder is called.
        .package(name: "WeightKit", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "LibraryDemo",
            dependencies: [.product(name: "WeightKit", package: "WeightKit")]),
    ],
    swiftLanguageModes: [.v6]
)
