import ArgumentParser
import WeightKit

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

        @OptionGroup var input: ModelOptions

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
                let (model, tokenizer) = try input.loadWithTokenizer()
                let body = try TextFile.read(text, cap: 64 << 20)
                var ids = tokenizer.encode(body, addSpecialTokens: true)
                if let limit { ids = Array(ids.prefix(limit)) }
                guard ids.count >= 2 else { throw ValidationError("the text has fewer than 2 tokens") }
                let window = WeightKit.Perplexity.window(context: context, modelContext: model.graph.config.contextLength)
                let stride = self.stride ?? WeightKit.Perplexity.defaultStride(window: window)
                let transformer = Transformer(graph: model.graph, maxSequence: window, options: runtime.options)
                let score = try WeightKit.Perplexity.score(ids, transformer: transformer, context: window, stride: stride) { done, total in
                    Console.progress("scoring tokens", done, total)
                }
                let seconds = monotonicSeconds() - started
                if json {
                    Console.out(JSONWriter.serialize([
                        "path": .string(input.path), "text": .string(text), "tokens": .int(Int64(ids.count)),
                        "scoredTokens": .int(Int64(score.scoredTokens)), "context": .int(Int64(window)),
                        "stride": .int(Int64(stride)), "meanNLL": .double(score.meanNLL),
                        "perplexity": .double(score.perplexity), "seconds": .double(seconds),
                    ], indent: 2))
                } else {
                    Console.out("perplexity \(String(format4(score.perplexity))) over \(score.scoredTokens) tokens (context \(window), \(compact(seconds)) s)")
                }
            }
        }

        /// Four decimals.
        func format4(_ x: Double) -> Double { (x * 1e4).rounded() / 1e4 }
    }
}
