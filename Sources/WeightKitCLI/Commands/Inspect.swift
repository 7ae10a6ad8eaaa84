import ArgumentParser
import WeightKitCore
import WeightKitFormats

extension WeightKitCommand {
    /// `weightkit inspect PATH`: what is in a weights file or model folder.
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what is in a weights file or model folder.",
            discussion: """
                Reads only headers unless --stats is given. Repeated blocks are grouped: \
                `model.layers.{0–29} (30×): 9 tensors each`, with their shapes once.

                Examples:
                  weightkit inspect model.safetensors
                  weightkit inspect ./SmolLM2-135M/ --tensors
                  weightkit inspect model.safetensors --stats --json > report.json
                """)

        @OptionGroup var input: InputOptions

        @Flag(name: .long, help: "List every tensor: name, dtype, shape, bytes, file offset.")
        var tensors = false

        @Flag(name: .long, help: "Read the data and add min, max, mean, std and NaN/Inf counts per tensor.")
        var stats = false

        @Flag(name: .long, help: "Print the report as JSON on stdout (keys in docs/JSON.md).")
        var json = false

        func run() throws {
            try reportingErrors(verbose: input.verbose, quiet: input.quiet) {
                let report = try Self.report(path: input.path, format: input.resolvedFormat, stats: stats)
                if json {
                    Console.out(JSONWriter.serialize(report.json(), indent: 2))
                } else {
                    Console.out(report.text(showTensors: tensors))
                }
            }
        }

        /// Builds the report for `path`.
        static func report(path: String, format: TensorFormat?, stats: Bool) throws -> InspectReport {
            let resolved = try format ?? FormatDetector.detect(path: path)
            let source: any TensorSource
            var config: JSONObject?
            if resolved == .huggingFace {
                let folder = try HuggingFaceFolder(path: path)
                source = folder.tensors
                config = folder.config
            } else {
                source = try FormatRegistry.open(path: path, format: resolved)
                config = (source as? PackReader)?.config
            }
            var report = InspectReport(
                path: path, format: source.formatName, files: source.files.map { ($0, fileSize($0)) },
                tensors: source.tensors, metadata: source.metadata, config: config)
            if stats {
                for (i, t) in source.tensors.enumerated() {
                    Console.progress("stats", i, source.tensors.count)
                    var storage = try source.storage(of: t)
                    var t = t
                    if t.dtype.isQuantized {
                        // Stats of block types are over their dequantized values.
                        let entry = try TransformedTensorSource.entry(input: t, name: t.name, steps: [.dequantize])
                        storage = try TransformedTensorSource(base: source, entries: [entry]).storage(of: entry.output)
                        t = entry.output
                    }
                    report.stats[t.name] = unsafe storage.withUnsafeBytes { unsafe TensorStats.compute($0, dtype: t.dtype, count: t.elementCount) }
                }
                Console.progress("stats", source.tensors.count, source.tensors.count)
            }
            return report
        }
    }
}
