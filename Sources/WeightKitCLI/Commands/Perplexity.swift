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
                tokens the previous window did not, conditioning on the rest. Each window runs as \
                one prefill that keeps the logits of the positions it scores. Perplexity is \
                exp(mean negative log-likelihood) over all scored tokens.

                With --reference BASE (same vocabulary; the text must encode alike), both models \
                run the same windows in this process and, over the same scored tokens, it reports \
                the mean KL divergence KL(P_base || P_model) per token in nats (with \
                llama-perplexity's uncertainty), its maximum, 99th percentile and median, the \
                base model's perplexity, and "same top p": the fraction of tokens where both \
                models' most likely next token is the same (llama-perplexity --kl-divergence's \
                definitions; here both log-softmaxes are exact doubles).

                Examples:
                  weightkit perplexity smol-q8_0.gguf --text fixtures/text/jargon-file-4.4.7-excerpt.txt
                  weightkit perplexity ./SmolLM2-135M/ --text book.txt --context 256 --limit 4096 --json
                  weightkit perplexity smol-q4_k_m.gguf --text book.txt --reference smol-f32.gguf --context 256
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

        @Option(name: .long, help: "A base model (same vocabulary) to measure KL divergence and top-1 agreement against.")
        var reference: String?

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
                // The base model: loaded first, so that the window fits both models' contexts.
                var loaded: LoadedModel?
                if let reference {
                    loaded = try ModelLoader.load(path: reference)
                    // Different vocabularies: Perplexity.score refuses them, naming both sizes.
                    if let baseTokenizer = loaded?.tokenizer, loaded?.graph.config.vocabSize == model.graph.config.vocabSize {
                        var baseIDs = baseTokenizer.encode(body, addSpecialTokens: true)
                        if let limit { baseIDs = Array(baseIDs.prefix(limit)) }
                        try WeightKit.Perplexity.checkSameTokens(ids, baseIDs, names: (input.path, reference))
                    }
                }
                var window = WeightKit.Perplexity.window(context: context, modelContext: model.graph.config.contextLength)
                if let loaded { window = WeightKit.Perplexity.window(context: window, modelContext: loaded.graph.config.contextLength) }
                let stride = self.stride ?? WeightKit.Perplexity.defaultStride(window: window)
                let transformer = Transformer(graph: model.graph, maxSequence: window, options: runtime.options)
                let base = loaded.map { Transformer(graph: $0.graph, maxSequence: window, options: runtime.options) }
                let score = try WeightKit.Perplexity.score(
                    ids, transformer: transformer, reference: base, context: window, stride: stride, names: (input.path, reference ?? "")
                ) { done, total in
                    Console.progress("scoring tokens", done, total)
                }
                let seconds = monotonicSeconds() - started
                if json {
                    var root = JSONObject()
                    root.set("path", .string(input.path))
                    root.set("text", .string(text))
                    root.set("tokens", .int(Int64(ids.count)))
                    root.set("scoredTokens", .int(Int64(score.scoredTokens)))
                    root.set("context", .int(Int64(window)))
                    root.set("stride", .int(Int64(stride)))
                    root.set("meanNLL", .double(score.meanNLL))
                    root.set("perplexity", .double(score.perplexity))
                    root.set("seconds", .double(seconds))
                    if let reference, let d = score.reference {
                        var o = JSONObject()
                        o.set("path", .string(reference))
                        o.set("perplexity", .double(d.referencePerplexity))
                        o.set("meanKL", .double(d.meanKL))
                        o.set("meanKLUncertainty", .double(d.meanKLUncertainty))
                        o.set("maxKL", .double(d.maxKL))
                        o.set("kl99", .double(d.kl99))
                        o.set("medianKL", .double(d.medianKL))
                        o.set("sameTop", .int(Int64(d.sameTop)))
                        o.set("sameTopFraction", .double(d.sameTopFraction))
                        root.set("reference", .object(o))
                    }
                    Console.out(JSONWriter.serialize(.object(root), indent: 2))
                } else {
                    Console.out("perplexity \(String(format4(score.perplexity))) over \(score.scoredTokens) tokens (context \(window), \(compact(seconds)) s)")
                    if let d = score.reference {
                        Console.out("reference perplexity \(String(format4(d.referencePerplexity)))")
                        Console.out("mean KL \(sig(d.meanKL)) ± \(sig(d.meanKLUncertainty)) nats, max \(sig(d.maxKL)), 99% \(sig(d.kl99)), median \(sig(d.medianKL))")
                        Console.out("same top token \(d.sameTop)/\(d.tokens) (\(String(format4(d.sameTopFraction * 100)))%)")
                    }
                }
            }
        }

        /// Four decimals.
        func format4(_ x: Double) -> Double { (x * 1e4).rounded() / 1e4 }

        /// Six significant digits.
        func sig(_ x: Double) -> String {
            guard x != 0, x.isFinite else { return "\(x)" }
            let scale = pow(10, 5 - floor(log10(abs(x))))
            return "\((x * scale).rounded() / scale)"
        }
    }
}
