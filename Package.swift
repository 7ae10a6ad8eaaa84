// swift-tools-version: 6.2
// WeightKit: read, inspect, validate, convert, quantize and run transformer weights.
// The targets are the architecture (see docs/ARCHITECTURE.md). Dependencies point one way:
// Formats, Graph, Tokenizer and Quantize build on Core; Runtime on Core and Graph; WeightKit (the
// library product) on all of them; the CLI on WeightKit.
// C modules: CZlib and CJSONC are imported only by WeightKitCore/Interop/. CWeightKitKernels is
// imported by WeightKitRuntime (its kernels and the thread pool's spin hint), by WeightKitCore
// (the CRC-32 fold in Interop/Zlib.swift, writeback in OutputFile), by WeightKitQuantize (ggml's
// block encoders, kquant_encode.c, in QuantScheme) and by WeightKit (validate's value census in
// Validation/).
import PackageDescription

let strict: [SwiftSetting] = [.strictMemorySafety()]

let package = Package(
    name: "WeightKit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "WeightKit", targets: ["WeightKit"]),
        .executable(name: "weightkit", targets: ["weightkit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .systemLibrary(
            name: "CJSONC", path: "Sources/CJSONC", pkgConfig: "json-c",
            providers: [.apt(["libjson-c-dev"]), .brew(["json-c"])]),
        .target(name: "WeightKitCore", dependencies: ["CZlib", "CJSONC", "CWeightKitKernels"], swiftSettings: strict),
        .target(name: "WeightKitFormats", dependencies: ["WeightKitCore"], swiftSettings: strict),
        .target(name: "WeightKitGraph", dependencies: ["WeightKitCore"], swiftSettings: strict),
        .target(name: "WeightKitTokenizer", dependencies: ["WeightKitCore"], swiftSettings: strict),
        .target(name: "WeightKitQuantize", dependencies: ["WeightKitCore", "CWeightKitKernels"], swiftSettings: strict),
        // The kernels are optimized in debug builds too: at -O0 a 270M-parameter model decodes at
        // ~1 token/s, which made the real-model tests take minutes; the Swift code stays debug.
        .target(name: "CWeightKitKernels", cSettings: [.unsafeFlags(["-O2"], .when(configuration: .debug))]),
        .target(name: "WeightKitRuntime", dependencies: ["WeightKitCore", "WeightKitGraph", "CWeightKitKernels"], swiftSettings: strict),
        .target(
            name: "WeightKit",
            dependencies: [
                "WeightKitCore", "WeightKitFormats", "WeightKitGraph", "WeightKitTokenizer", "WeightKitRuntime", "WeightKitQuantize",
                "CWeightKitKernels",
            ],
            // The trace page's script, compiled in as bytes (`PackageResources.trace_js`): no
            // bundle to find at run time, so the fully static executable keeps working.
            resources: [.embedInCode("Resources/trace.js")]),
        .target(
            name: "WeightKitCLI",
            dependencies: [
                "WeightKit", "WeightKitCore", "WeightKitFormats", "WeightKitGraph", "WeightKitTokenizer", "WeightKitRuntime", "WeightKitQuantize",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(name: "weightkit", dependencies: ["WeightKitCLI"]),
        .target(name: "WeightKitTestSupport", path: "Tests/WeightKitTestSupport"),
        .testTarget(name: "WeightKitCoreTests", dependencies: ["WeightKitCore", "WeightKitTestSupport"]),
        .testTarget(name: "WeightKitFormatsTests", dependencies: ["WeightKitFormats", "WeightKitTestSupport"]),
        .testTarget(name: "WeightKitTokenizerTests", dependencies: ["WeightKitTokenizer", "WeightKitTestSupport"]),
        .testTarget(name: "WeightKitRuntimeTests", dependencies: ["WeightKit", "WeightKitTestSupport"]),
        .testTarget(name: "WeightKitQuantizeTests", dependencies: ["WeightKitQuantize", "WeightKitFormats", "WeightKitTestSupport"]),
        .testTarget(name: "WeightKitGraphTests", dependencies: ["WeightKitGraph", "WeightKitTestSupport"]),
        .testTarget(name: "WeightKitCLITests", dependencies: ["WeightKitCLI", "weightkit", "WeightKitTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

// scripts/fuzz.sh sets WEIGHTKIT_FUZZ=1 to add the libFuzzer harness (Fuzz/); ordinary builds never see it.
if Context.environment["WEIGHTKIT_FUZZ"] == "1" {
    package.targets.append(.executableTarget(
        name: "weightkit-fuzz", dependencies: ["WeightKitFormats", "WeightKitGraph", "WeightKitTokenizer"],
        path: "Fuzz/WeightKitFuzz"))
    package.products.append(.executable(name: "weightkit-fuzz", targets: ["weightkit-fuzz"]))
}
