import WeightKitCore
import WeightKitGraph
import WeightKitRuntime
import WeightKitTokenizer

/// Sentence embeddings from an encoder (BERT, all-MiniLM, BGE): tokenize with the model's
/// tokenizer, cut to the maximum sequence length, run the encoder, pool and normalise as the
/// model's `EmbeddingSettings` say — what sentence-transformers' `encode` computes.
public final class Embedder {
    /// The loaded model.
    public let model: LoadedModel
    /// Pooling, normalisation and sequence limit in use.
    public let settings: EmbeddingSettings
    /// The tokenizer.
    public let tokenizer: any Tokenizer
    let transformer: Transformer

    /// Loads the encoder at `path` (a Hugging Face folder, a pack or a GGUF file) with its
    /// tokenizer; `settings` replaces what the model's files say, `overrides` changes single fields of it.
    ///
    /// - Throws: the loader's errors; `GraphError.unknownArchitecture` for a decoder (it gives
    ///   next-token logits, not embeddings); `.invalidConfig` for a model without a tokenizer or
    ///   with settings that are not implemented.
    public init(
        path: String, settings: EmbeddingSettings? = nil, overrides: EmbeddingSettings.Overrides = .init(), runtime: RuntimeOptions = RuntimeOptions()
    ) throws {
        let model = try ModelLoader.load(path: path)
        guard !model.graph.config.causal else {
            throw GraphError(.unknownArchitecture, "\(model.graph.config.family.rawValue) is a causal decoder, not an encoder: embed runs encoders (bert)", path: path)
        }
        guard let tokenizer = model.tokenizer else {
            throw GraphError(.invalidConfig, "the model carries no tokenizer, so texts cannot be embedded", path: path)
        }
        var chosen = try (settings ?? EmbeddingSettings.read(model: model)).applying(overrides)
        let context = model.graph.config.contextLength
        chosen.maxSequenceLength = min(chosen.maxSequenceLength ?? context, context)
        guard chosen.maxSequenceLength! >= 2 else {
            throw GraphError(.invalidConfig, "the maximum sequence length must be at least 2, found \(chosen.maxSequenceLength!)", path: path)
        }
        self.model = model
        self.tokenizer = tokenizer
        self.settings = chosen
        // One chunk holds a whole context of tokens: several short texts run together.
        let options = RuntimeOptions(threads: runtime.threads, threadPool: runtime.threadPool, copyWeights: false, kernels: runtime.kernels, quantizedActivations: runtime.quantizedActivations)
        transformer = Transformer(graph: model.graph, options: options, batch: context)
    }

    /// The token ids `text` is read as, and whether it was cut: the tokenizer's ids with its
    /// special tokens, the text's own tokens cut so that the whole fits the maximum length
    /// (the special tokens around it kept, as `truncation=longest_first` does).
    public func tokens(_ text: String) -> (ids: [Int], truncated: Bool) {
        let limit = settings.maxSequenceLength ?? model.graph.config.contextLength
        let full = tokenizer.encode(text, addSpecialTokens: true)
        guard full.count > limit else { return (full, false) }
        let plain = tokenizer.encode(text, addSpecialTokens: false)
        let extra = full.count - plain.count
        // Where the text's own tokens sit among the special ones.
        let start = (0...max(0, extra)).first { s in s + plain.count <= full.count && Array(full[s..<s + plain.count]) == plain } ?? 0
        let keep = max(0, limit - extra)
        return (Array(full[..<start]) + plain.prefix(keep) + full[(start + plain.count)...], true)
    }

    /// One embedding per text, in order.
    ///
    /// - Throws: `RuntimeError` from the encoder (non-finite values name the layer).
    public func embed(_ texts: [String]) throws -> [[Float]] {
        try embed(ids: texts.map { tokens($0).ids })
    }

    /// One embedding per token sequence (ids as the tokenizer gives them).
    public func embed(ids: [[Int]]) throws -> [[Float]] {
        let d = model.graph.config.hiddenSize
        return try transformer.encode(ids).map { Self.pool($0, width: d, settings: settings) }
    }

    /// Pools `hidden` ([tokens, width]) into one vector and normalises it as `settings` say.
    public static func pool(_ hidden: [Float], width d: Int, settings: EmbeddingSettings) -> [Float] {
        let n = hidden.count / d
        var v = [Float](repeating: 0, count: d)
        switch settings.pooling {
        case .cls: v = Array(hidden[0..<d])
        case .lastToken: v = Array(hidden[(n - 1) * d..<n * d])
        case .max:
            v = Array(hidden[0..<d])
            for t in 1..<max(n, 1) { for j in 0..<d { v[j] = Swift.max(v[j], hidden[t * d + j]) } }
        case .mean, .meanSqrtLength:
            for t in 0..<n { for j in 0..<d { v[j] += hidden[t * d + j] } }
            let divisor = settings.pooling == .mean ? Float(n) : Float(n).squareRoot()
            for j in 0..<d { v[j] /= divisor }
        }
        if settings.normalize {
            let norm = Self.norm(v)
            for j in 0..<d { v[j] /= Swift.max(norm, 1e-12) }  // torch.nn.functional.normalize's eps
        }
        return v
    }

    /// The L2 norm (accumulated in double).
    public static func norm(_ v: [Float]) -> Float {
        Float(v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot())
    }

    /// The cosine similarity of two vectors (accumulated in double).
    public static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            na += Double(x) * Double(x)
            nb += Double(y) * Double(y)
        }
        return na == 0 || nb == 0 ? 0 : Float(dot / (na.squareRoot() * nb.squareRoot()))
    }

    /// Embeds `texts` with the model at `path` and reports them (`weightkit embed`).
    public static func run(
        model path: String, texts: [String], settings: EmbeddingSettings? = nil, overrides: EmbeddingSettings.Overrides = .init(),
        runtime: RuntimeOptions = RuntimeOptions()
    ) throws -> EmbeddingReport {
        guard !texts.isEmpty else { throw GraphError(.invalidConfig, "no text to embed") }
        let clock = ContinuousClock()
        let start = clock.now
        let embedder = try Embedder(path: path, settings: settings, overrides: overrides, runtime: runtime)
        let loaded = clock.now
        let tokenized = texts.map { embedder.tokens($0) }
        let vectors = try embedder.embed(ids: tokenized.map(\.ids))
        let done = clock.now
        let items = zip(texts, zip(tokenized, vectors)).map { text, pair in
            EmbeddingReport.Item(text: text, tokens: pair.0.ids.count, truncated: pair.0.truncated, embedding: pair.1)
        }
        let similarity = texts.count < 2 ? nil : vectors.map { a in vectors.map { b in cosine(a, b) } }
        return EmbeddingReport(
            model: path, family: embedder.model.graph.config.family.rawValue, settings: embedder.settings, items: items,
            similarity: similarity, loadSeconds: (loaded - start).seconds, embedSeconds: (done - loaded).seconds)
    }
}
