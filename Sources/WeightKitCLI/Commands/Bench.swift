import ArgumentParser
import WeightKit

extension WeightKitCommand {
    /// `weightkit bench PATH`: load time, prefill and decode speed, peak memory.
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure load time, prefill and decode tokens/s, and peak memory of a model.",
            discussion: """
                Same definitions as `llama-bench -p 128 -n 64`: prefill is one forward pass over a \
                128-token prompt; decode generates 64 tokens one at a time from an empty context \
                (a separate run, as llama-bench's tg test). One unmeasured warm-up pass comes \
                first, as in llama-bench. Token ids are fixed pseudo-random ids, so no tokenizer is \
                needed.

                Examples:
                  weightkit bench ./SmolLM2-135M/
                  weightkit bench ./SmolLM2-135M/ --threads 1,2 --repetitions 5 --json
                """)

        @OptionGroup var input: ModelOptions

        @Option(name: .long, help: "Comma-separated thread counts to measure, e.g. 1,2.")
        var threads: String = "\(Parallel.coreCount)"

        @OptionGroup var runtime: RuntimeSwitches

        @Option(name: .long, help: "Prompt tokens for the prefill measurement.")
        var prompt: Int = 128

        @Option(name: .long, help: "Tokens generated for the decode measurement.")
        var generate: Int = 64

        @Option(name: .long, help: "Runs per thread count; mean ± standard deviation are reported.")
        var repetitions: Int = 3

        @Flag(name: .long, help: "Print the results as JSON on stdout (keys in docs/JSON.md).")
        var json = false

        func validate() throws {
            guard threadCounts != nil else { throw ValidationError("--threads must be positive integers separated by commas, like 1,2") }
            guard prompt > 0, generate > 0, repetitions > 0 else { throw ValidationError("--prompt, --generate and --repetitions must be positive") }
        }

        var threadCounts: [Int]? {
            let parts = threads.split(separator: ",").map { Int(String($0).trimmingCharacters(in: " ")) }
            guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
            return parts.map { $0! }
        }

        func run() throws {
            try reportingErrors(verbose: input.verbose, quiet: input.quiet) {
                let t0 = monotonicSeconds()
                let model = try input.load(tokenizer: false)
                // Load time runs to the first token ready: the runtime's one-time setup (the
                // weights copied for decode, `Transformer.preparedGraph`) counts, done once for
                // every thread count.
                let graph = Transformer.preparedGraph(model.graph, options: runtime.options(threads: 0))
                let loadSeconds = monotonicSeconds() - t0
                let vocab = model.graph.config.vocabSize
                var random = SplitMix64(seed: 1)
                let promptIDs = (0..<prompt).map { _ in Int(random.next() % UInt64(vocab)) }
                var rows: [JSONValue] = []
                for count in threadCounts! {
                    let transformer = Transformer(graph: graph, maxSequence: max(prompt, generate) + 1, options: runtime.options(threads: count))
                    // Warm-up, as llama-bench: the first pass touches the buffers, the KV cache and
                    // the embedding rows.
                    _ = try transformer.forward(promptIDs)
                    var prefill: [Double] = [], decode: [Double] = []
                    for _ in 0..<repetitions {
                        transformer.reset()
                        let a = monotonicSeconds()
                        _ = try transformer.forward(promptIDs)
                        let b = monotonicSeconds()
                        transformer.reset()
                        var token = promptIDs[0]
                        let c = monotonicSeconds()
                        for _ in 0..<generate { token = Sampler.argmax(try transformer.forward([token])) }
                        let d = monotonicSeconds()
                        prefill.append(Double(prompt) / (b - a))
                        decode.append(Double(generate) / (d - c))
                    }
                    let (pm, ps) = meanSD(prefill), (dm, ds) = meanSD(decode)
                    if !json {
                        Console.out("threads \(count): prefill-\(prompt) \(fixed(pm)) ± \(fixed(ps)) tok/s, decode-\(generate) \(fixed(dm)) ± \(fixed(ds)) tok/s")
                    }
                    rows.append(["threads": .integer(count), "prefillTokensPerSecond": .double(pm), "prefillSD": .double(ps),
                                 "decodeTokensPerSecond": .double(dm), "decodeSD": .double(ds)])
                }
                let peak = peakResidentBytes()
                if json {
                    Console.out(JSONWriter.serialize([
                        "path": .string(input.path), "loadSeconds": .double(loadSeconds), "peakResidentBytes": .integer(peak),
                        "promptTokens": .integer(prompt), "generatedTokens": .integer(generate), "results": .array(rows),
                    ], indent: 2))
                } else {
                    Console.out("load \(fixed(loadSeconds * 1000)) ms, peak resident memory \(formatBytes(peak))")
                }
            }
        }
    }
}

/// Mean and sample standard deviation.
func meanSD(_ values: [Double]) -> (Double, Double) {
    let mean = values.reduce(0, +) / Double(values.count)
    guard values.count > 1 else { return (mean, 0) }
    let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
    return (mean, variance.squareRoot())
}
