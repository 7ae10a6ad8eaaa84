import ArgumentParser
import WeightKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension WeightKitCommand {
    /// `weightkit perplexity PATH --text FILE`: sliding-window perplexity of a text.
    struct Perplexity: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure a model's perplexity on a text with a sliding window.",
            discussion: """
                The standard sliding-window evaluation (as in Hugging Face's perplexity guide): \
                windows of --context tokens advance by --stride; each window scores only the \
                tokens the previous window did not, conditioning on the rest. Context that is not \
                scored is prefilled in one pass; scored tokens are decoded one at a time. \
                Perplexity is exp(mean negative log-likelihood) over all scored tokens.

                Examples:
                  weightkit perplexity smol-q8_0.gguf --text fixtures/text/jargon-file-4.4.7-excerpt.txt
                  weightkit perplexity ./SmolLM2-135M/ --text book.txt --context 256 --limit 4096 --json
                """)

        @OptionGroup var input: InputOptions

        @Option(name: .long, help: "UTF-8 text file to score.")
        var text: String

        @Option(name: .long, help: "Window length in tokens.")
        var context: Int = 512

        @Option(name: .long, help: "Window step in tokens (default: half the context).")
        var stride: Int?

        @Option(name: .long, help: "Score only the first N tokens of the text.")
        var limit: Int?

        @OptionGroup var runtime: RuntimeOptions

        @Flag(name: .long, help: "Print the result as JSON on stdout.")
        var json = false

        func validate() throws {
            guard context >= 2 else { throw ValidationError("--context must be at least 2") }
            if let stride, stride < 1 || stride > context { throw ValidationError("--stride must be between 1 and --context") }
            if let limit, limit < 2 { throw ValidationError("--limit must be at least 2") }
        }

        func run() throws {
            try reportingErrors(verbose: input.verbose, quiet: input.quiet) {
                let started = monotonicSeconds()
                let model = try ModelLoader.load(path: input.path)
                guard let tokenizer = model.tokenizer else {
                    throw ValidationError("\(input.path) has no tokenizer, so the text cannot be encoded")
                }
                let body = try WeightKitCommand.Convert.readText(text, cap: 64 << 20)
                var ids = tokenizer.encode(body, addSpecialTokens: true)
                if let limit { ids = Array(ids.prefix(limit)) }
                guard ids.count >= 2 else { throw ValidationError("the text has fewer than 2 tokens") }
                let window = min(context, model.graph.config.contextLength > 0 ? model.graph.config.contextLength : context)
                let transformer = Transformer(graph: model.graph, maxSequence: window, options: runtime.options)
                let (nll, scored) = try Self.score(ids, transformer: transformer, context: window, stride: stride ?? max(1, window / 2))
                let ppl = exp(nll / Double(scored))
                let seconds = monotonicSeconds() - started
                if json {
                    Console.out(JSONWriter.serialize([
                        "path": .string(input.path), "text": .string(text), "tokens": .int(Int64(ids.count)),
                        "scoredTokens": .int(Int64(scored)), "context": .int(Int64(window)),
                        "stride": .int(Int64(stride ?? max(1, window / 2))), "meanNLL": .double(nll / Double(scored)),
                        "perplexity": .double(ppl), "seconds": .double(seconds),
                    ], indent: 2))
                } else {
                    Console.out("perplexity \(String(format4(ppl))) over \(scored) tokens (context \(window), \(compact(seconds)) s)")
                }
            }
        }

        /// Σ −log p(token | window before it) over the scored tokens, and how many were scored.
        static func score(_ ids: [Int], transformer: Transformer, context: Int, stride: Int) throws -> (Double, Int) {
            var nll = 0.0, scored = 0, previousEnd = 0, begin = 0
            while true {
                let end = min(begin + context, ids.count)
                // Targets are positions ≥ begin + 1 that the previous window did not score.
                let first = max(begin + 1, previousEnd)
                transformer.reset()
                var logits: [Float] = try transformer.forward(Array(ids[begin..<first]))
                for t in first..<end {
                    nll -= logSoftmax(logits, at: ids[t])
                    scored += 1
                    Console.progress("scoring tokens", t, ids.count)
                    if t + 1 < end { logits = try transformer.forward([ids[t]]) }
                }
                previousEnd = end
                if end == ids.count { break }
                begin += stride
            }
            Console.progress("scoring tokens", ids.count, ids.count)
            return (nll, scored)
        }

        /// log softmax(logits)[index], in double precision.
        static func logSoftmax(_ logits: [Float], at index: Int) -> Double {
            let m = Double(logits.max() ?? 0)
            var sum = 0.0
            for v in logits { sum += exp(Double(v) - m) }
            return Double(logits[index]) - m - log(sum)
        }

        /// Four decimals.
        func format4(_ x: Double) -> Double { (x * 1e4).rounded() / 1e4 }
    }
}
