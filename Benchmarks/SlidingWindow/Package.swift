// swift-tools-version: 6.2
// What a window-sized cache buys on a model with sliding-window layers (Gemma 3: 5 of every 6):
// the same weights run as described and with every layer global. Built by Benchmarks/sliding-window.sh.
import PackageDescription

let package = Package(
    name: "SlidingWindow",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "WeightKit", path: "../..")],
    targets: [
        .executableTarget(name: "SlidingWindow", dependencies: [.product(name: "WeightKit", package: "WeightKit")]),
    ],
    swiftLanguageModes: [.v6]
)
