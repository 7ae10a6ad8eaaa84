// swift-tools-version: 6.2
// The pack issue's "open a .wkp and reach the first tensor's data" measured as a whole process:
// a program that does only that through the library. Built by Benchmarks/pack-open.sh.
import PackageDescription

let package = Package(
    name: "PackOpen",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "WeightKit", path: "../..")],
    targets: [
        .executableTarget(name: "PackOpen", dependencies: [.product(name: "WeightKit", package: "WeightKit")]),
    ],
    swiftLanguageModes: [.v6]
)
