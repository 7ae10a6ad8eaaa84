import WeightKitGraph
import WeightKitRuntime
import WeightKitTokenizer

/// Runs one forward pass over a prompt with a `TraceRecorder` attached and turns what it saw into
/// a `Trace`: embedding neighbours, attention entropies, norms, top neurons, logit lens.
public enum Tracer {
    /// What to trace.
    public struct Options: Sendable {
        /// Layers whose attention matrices are kept (nil: all).
        public var layers: [Int]?
        /// Top-K size for neighbours, attended tokens, neurons, predictions and the lens.
        public var top: Int
        /// How the forward pass runs (threads, kernels).
        public var runtime: RuntimeOptions
        /// How an encoder's output is pooled into the embedding shown in stage 4 (nil: mean + L2;
        /// `trace(model:)` reads the model's own settings).
        public var pooling: EmbeddingSettings?

        /// Options with `top` entries per list.
        public init(layers: [Int]? = nil, top: Int = 5, runtime: RuntimeOptions = RuntimeOptions()) {
            self.layers = layers
            self.top = top
            self.runtime = runtime
        }
    }

    /// Traces `prompt` (text) through a loaded model; needs its tokenizer.
    public static func trace(model: LoadedModel, prompt: String, options: Options = Options()) throws -> Trace {
        guard let tokenizer = model.tokenizer else {
            throw RuntimeError(.invalidRequest, "\(model.path) has no tokenizer, so the prompt text cannot be encoded")
        }
        let ids = tokenizer.encode(prompt, addSpecialTokens: true)
        var options = options
        if !model.graph.config.causal, options.pooling == nil { options.pooling = try EmbeddingSettings.read(model: model) }
        return try trace(graph: model.graph, tokens: ids, name: model.path, piece: piece(tokenizer), options: options)
    }

    /// The display text of a token: its decoded piece (special tokens kept).
    public static func piece(_ tokenizer: any Tokenizer) -> @Sendable (Int) -> String {
        { id in
            let text = tokenizer.decode([id], skipSpecialTokens: false)
            // A lone byte of a multi-byte character decodes to U+FFFD; the stored piece says more.
            return text.unicodeScalars.contains("\u{FFFD}") ? (tokenizer.token(for: id) ?? text) : text
        }
    }

    /// Traces token ids through `graph`; `piece` names a token id (default `#id`).
    public static func trace(
        graph: ModelGraph, tokens: [Int], name: String = "", piece: (Int) -> String = { "#\($0)" }, options: Options = Options()
    ) throws -> Trace {
        let c = graph.config
        let top = max(1, options.top)
        let selected = Set(options.layers ?? Array(0..<c.layers))
        if let bad = selected.first(where: { $0 < 0 || $0 >= c.layers }) {
            throw RuntimeError(.invalidRequest, "layer \(bad) does not exist: the model has layers 0 ... \(c.layers - 1)")
        }
        let transformer = Transformer(graph: graph, maxSequence: max(1, tokens.count), options: options.runtime, batch: c.causal ? 128 : max(1, tokens.count))
        let recorder = TraceRecorder(layers: c.layers, heads: c.heads, hidden: c.hiddenSize, intermediate: c.intermediateSize, selected: selected)
        transformer.observer = recorder
        // An encoder: attention over the whole prompt, and its pooled embedding where a decoder's next token would be.
        var embedding: [Float]? = nil
        if c.causal {
            _ = try transformer.forward(tokens)
        } else {
            let hidden = try transformer.encode([tokens])[0]
            embedding = Embedder.pool(hidden, width: c.hiddenSize, settings: options.pooling ?? EmbeddingSettings())
        }
        transformer.observer = nil

        let next = TraceMath.topK(TraceMath.softmax(recorder.logits), top).map { Trace.Candidate(id: $0.index, piece: piece($0.index), score: $0.value) }
        let answer = next.first?.id ?? 0
        let neighbours = TraceMath.neighbours(of: tokens, in: transformer, count: top)
        let tokenRows = tokens.enumerated().map { t, id in
            Trace.Token(
                id: id, piece: piece(id), embeddingNorm: TraceMath.norm(recorder.embedded[t]),
                neighbours: neighbours[t].map { Trace.Candidate(id: $0.index, piece: piece($0.index), score: $0.value) })
        }
        var layers: [Trace.Layer] = []
        for l in 0..<c.layers {
            // An encoder has no unembedding: no logit lens.
            var lens: [Trace.Candidate] = [], probability: Float = 0, rank = 0
            if c.causal {
                let probabilities = TraceMath.softmax(try transformer.unembed(residual: recorder.residual[l]))
                lens = TraceMath.topK(probabilities, top).map { Trace.Candidate(id: $0.index, piece: piece($0.index), score: $0.value) }
                probability = probabilities[answer]
                rank = probabilities.reduce(0) { $0 + ($1 > probability ? 1 : 0) }
            }
            let heads = (recorder.attention[l] ?? []).enumerated().map { h, rows in head(h, rows: rows, top: top) }
            layers.append(Trace.Layer(
                index: l, attentionNorm: TraceMath.norm(recorder.attentionAdded[l]), mlpNorm: TraceMath.norm(recorder.mlpAdded[l]),
                residualNorm: TraceMath.norm(recorder.residual[l]), heads: heads,
                topNeurons: TraceMath.topK(recorder.hidden[l].map(abs), top).map { ($0.index, recorder.hidden[l][$0.index]) },
                lens: lens, finalTokenProbability: probability, finalTokenRank: rank))
        }
        return Trace(
            model: name, family: c.family.rawValue, layerCount: c.layers, headCount: c.heads,
            tokens: tokenRows, layers: layers, next: next, embedding: embedding,
            pooling: embedding == nil ? nil : (options.pooling ?? EmbeddingSettings()))
    }

    static func head(_ index: Int, rows: [[Float]], top: Int) -> Trace.Head {
        let last = rows.last ?? []
        let entropies = rows.map(TraceMath.entropyBits)
        return Trace.Head(
            index: index, weights: rows, entropy: TraceMath.entropyBits(last),
            meanEntropy: entropies.reduce(0, +) / Float(max(1, entropies.count)),
            top: TraceMath.topK(last, top).map { ($0.index, $0.value) })
    }

    /// Parses a layer list: `all`, `last`, `3`, `0,2,5-7`, negative indices counting from the end (`-1`).
    public static func parseLayers(_ spec: String, layerCount: Int) -> [Int]? {
        let text = spec.lowercased()
        if text == "all" { return Array(0..<layerCount) }
        if text == "last" { return layerCount > 0 ? [layerCount - 1] : nil }
        var out: [Int] = []
        func index(_ s: Substring) -> Int? {
            guard let v = Int(s) else { return nil }
            let i = v < 0 ? layerCount + v : v
            return i >= 0 && i < layerCount ? i : nil
        }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            if let dash = part.dropFirst().firstIndex(of: "-") {
                guard let a = index(part[..<dash]), let b = index(part[part.index(after: dash)...]), a <= b else { return nil }
                out += Array(a...b)
            } else {
                guard let i = index(part) else { return nil }
                out.append(i)
            }
        }
        return out.isEmpty ? nil : Array(Set(out)).sorted()
    }
}
