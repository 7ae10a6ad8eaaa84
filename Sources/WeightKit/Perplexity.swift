#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightKitRuntime

/// The result of scoring a token sequence: Σ −log p over the scored tokens, and, when a
/// reference model was given, how far the model's next-token distributions are from it.
public struct PerplexityScore: Sendable, Equatable {
    /// Σ −log p(token | the tokens before it in its window), in nats.
    public var negativeLogLikelihood: Double
    /// How many tokens were scored (every token but the first).
    public var scoredTokens: Int
    /// The divergence from the reference model over the same scored tokens (nil without one).
    public var reference: ReferenceDivergence? = nil

    /// Mean negative log-likelihood per scored token.
    public var meanNLL: Double { scoredTokens > 0 ? negativeLogLikelihood / Double(scoredTokens) : 0 }
    /// exp(mean negative log-likelihood).
    public var perplexity: Double { exp(meanNLL) }
}

/// A model's next-token distributions against a reference model's (llama-perplexity
/// `--kl-divergence`'s statistics), at the same scored positions: per position
/// KL(P_reference ‖ P_model) = Σᵢ P_reference(i) · (log P_reference(i) − log P_model(i)) in nats,
/// and whether the two most likely tokens agree.
///
/// Differences from llama-perplexity, all in precision: it stores the reference's log-probabilities
/// as 16-bit integers over [max − 16, max] and skips reference terms with log p ≤ −16; here both
/// log-softmaxes are exact double-precision values of the float logits and every term counts.
public struct ReferenceDivergence: Sendable, Equatable {
    /// Scored positions.
    public var tokens: Int
    /// Σ −log P_reference(token) over the same positions, in nats.
    public var referenceNLL: Double
    /// Σ KL and Σ KL² over the positions.
    public var sumKL: Double, sumKL2: Double
    /// Positions whose most likely token (the first maximum) is the same in both.
    public var sameTop: Int
    /// The largest, the 99th percentile and the median of the per-position KL (llama-perplexity's
    /// interpolation between sorted values).
    public var maxKL: Double, kl99: Double, medianKL: Double

    /// Mean KL per position ("Mean KLD").
    public var meanKL: Double { tokens > 0 ? sumKL / Double(tokens) : 0 }
    /// llama-perplexity's ± for the mean KL: √((Σ KL²/n − mean²)/(n − 1)), 0 for n ≤ 10.
    public var meanKLUncertainty: Double {
        let n = Double(tokens), variance = tokens > 0 ? sumKL2 / n - meanKL * meanKL : 0
        return variance > 0 && tokens > 10 ? (variance / (n - 1)).squareRoot() : 0
    }
    /// Fraction of positions with the same most likely token ("Same top p").
    public var sameTopFraction: Double { tokens > 0 ? Double(sameTop) / Double(tokens) : 0 }
    /// The reference model's perplexity over the same positions.
    public var referencePerplexity: Double { tokens > 0 ? exp(referenceNLL / Double(tokens)) : 1 }

    /// The statistics of per-position values.
    public init(tokens: Int, referenceNLL: Double, kl: [Double], sameTop: Int) {
        self.tokens = tokens
        self.referenceNLL = referenceNLL
        self.sameTop = sameTop
        sumKL = kl.reduce(0, +)
        sumKL2 = kl.reduce(0) { $0 + $1 * $1 }
        let sorted = kl.sorted()
        maxKL = sorted.last ?? 0
        kl99 = Self.percentile(sorted, 0.99)
        medianKL = sorted.isEmpty ? 0 : sorted.count % 2 == 0
            ? 0.5 * (sorted[sorted.count / 2] + sorted[sorted.count / 2 - 1]) : sorted[sorted.count / 2]
    }

    /// llama-perplexity's percentile of sorted values: linear between the two nearest ranks.
    public static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard let first = sorted.first, let last = sorted.last else { return 0 }
        if fraction <= 0 { return first }
        if fraction >= 1 { return last }
        var p = fraction * Double(sorted.count - 1)
        let ip = Int(p)
        p -= Double(ip)
        return (1 - p) * sorted[ip] + p * sorted[min(ip + 1, sorted.count - 1)]
    }
}

/// Sliding-window perplexity, as in Hugging Face's perplexity guide: windows of `context`
/// tokens advance by `stride`; each window scores only the tokens the previous window did not,
/// conditioning on the rest.
public enum Perplexity {
    /// The window actually used: `context`, shortened to the model's own context length when
    /// it has one (`modelContext` > 0).
    public static func window(context: Int, modelContext: Int) -> Int {
        min(context, modelContext > 0 ? modelContext : context)
    }

    /// The default stride: half the window, at least 1.
    public static func defaultStride(window: Int) -> Int { max(1, window / 2) }

    /// Scores `ids` with `transformer` (built for at least `context` positions). Each window runs
    /// as one prefill that keeps the logits of the positions it scores
    /// (`Transformer.forward(_:logitsFrom:)`). With a `reference` transformer (same vocabulary),
    /// it runs the same windows and the score carries the divergence of `transformer`'s
    /// distributions from the reference's at every scored position. `names` label the two in
    /// errors (a file path, say). `progress` is called with (tokens scored up to, total).
    ///
    /// - Throws: `RuntimeError` `.invalidRequest` for fewer than 2 tokens, a context below 2, a
    ///   stride outside 1...context, or vocabularies of different sizes; the forward pass's
    ///   errors (a token outside the vocabulary, non-finite values), prefixed with the name of
    ///   the model that raised them.
    public static func score(
        _ ids: [Int], transformer: Transformer, reference: Transformer? = nil, context: Int, stride: Int,
        names: (model: String, reference: String) = ("the model", "the reference model"),
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> PerplexityScore {
        guard ids.count >= 2 else { throw RuntimeError(.invalidRequest, "the text has fewer than 2 tokens") }
        guard context >= 2, (1...context).contains(stride) else {
            throw RuntimeError(.invalidRequest, "the context must be at least 2 and the stride between 1 and the context (got \(context), \(stride))")
        }
        let vocab = transformer.graph.config.vocabSize
        if let reference, reference.graph.config.vocabSize != vocab {
            throw RuntimeError(.invalidRequest, "\(names.model) has a vocabulary of \(vocab) tokens and \(names.reference) one of \(reference.graph.config.vocabSize): KL divergence needs the same vocabulary")
        }
        var nll = 0.0, scored = 0, previousEnd = 0, begin = 0
        var referenceNLL = 0.0, kl: [Double] = [], sameTop = 0
        while true {
            let end = min(begin + context, ids.count)
            // Targets are positions ≥ begin + 1 that the previous window did not score; the
            // logits at position t − 1 predict token t, so the window runs ids[begin ..< end − 1].
            let first = max(begin + 1, previousEnd)
            let tokens = Array(ids[begin..<end - 1])
            let logits = try rows(transformer, tokens, from: first - 1 - begin, begin: begin, name: names.model)
            let base = try reference.map { try rows($0, tokens, from: first - 1 - begin, begin: begin, name: names.reference) }
            for t in first..<end {
                let row = (t - first) * vocab
                if let base {
                    let d = try divergence(reference: base[row..<row + vocab], model: logits[row..<row + vocab], target: ids[t])
                    nll -= d.logProbability
                    referenceNLL -= d.referenceLogProbability
                    kl.append(d.kl)
                    if d.sameTop { sameTop += 1 }
                } else {
                    nll -= logSoftmax(logits[row..<row + vocab], at: ids[t])
                }
                scored += 1
            }
            progress?(end, ids.count)
            previousEnd = end
            if end == ids.count { break }
            begin += stride
        }
        var score = PerplexityScore(negativeLogLikelihood: nll, scoredTokens: scored)
        if reference != nil { score.reference = ReferenceDivergence(tokens: scored, referenceNLL: referenceNLL, kl: kl, sameTop: sameTop) }
        return score
    }

    /// Refuses two encodings of the same text that differ (a model and its reference with
    /// different tokenizers): the error names both and the first position where they part.
    public static func checkSameTokens(_ ids: [Int], _ referenceIDs: [Int], names: (model: String, reference: String)) throws {
        guard ids != referenceIDs else { return }
        let k = (0..<min(ids.count, referenceIDs.count)).first { ids[$0] != referenceIDs[$0] } ?? min(ids.count, referenceIDs.count)
        let a = k < ids.count ? "\(ids[k])" : "the end", b = k < referenceIDs.count ? "\(referenceIDs[k])" : "the end"
        throw RuntimeError(.invalidRequest, "\(names.model) and \(names.reference) encode the text differently (\(ids.count) and \(referenceIDs.count) tokens; at token \(k): \(a) vs \(b)): KL divergence needs the same tokens")
    }

    /// One window's logits rows from `transformer`; an error is prefixed with `name` and says
    /// where the window starts in the text (the forward pass counts positions in the window).
    static func rows(_ transformer: Transformer, _ tokens: [Int], from first: Int, begin: Int, name: String) throws -> [Float] {
        transformer.reset()
        do {
            return try transformer.forward(tokens, logitsFrom: first)
        } catch let error as RuntimeError {
            throw RuntimeError(error.kind, "\(name): \(error.message) (position 0 of this window is token \(begin) of the text)")
        }
    }

    /// log softmax(logits)[index], in double precision.
    public static func logSoftmax(_ logits: [Float], at index: Int) -> Double {
        logSoftmax(logits[...], at: index)
    }

    /// log softmax(logits)[index] of a row, in double precision.
    public static func logSoftmax(_ logits: ArraySlice<Float>, at index: Int) -> Double {
        let m = Double(logits.max() ?? 0)
        var sum = 0.0
        for v in logits { sum += exp(Double(v) - m) }
        return Double(logits[logits.startIndex + index]) - m - log(sum)
    }

    /// One position of a model against a reference.
    public struct TokenDivergence: Sendable, Equatable {
        /// KL(P_reference ‖ P_model) in nats.
        public var kl: Double
        /// Whether the first maximum of both rows of logits is the same token.
        public var sameTop: Bool
        /// log P_model(target) and log P_reference(target).
        public var logProbability: Double, referenceLogProbability: Double
    }

    /// KL(softmax(reference) ‖ softmax(model)) = Σᵢ pᵢ (log pᵢ − log qᵢ), both log-softmaxes in
    /// double precision (each row's maximum subtracted before exp), the top-1 agreement (first
    /// maximum of each row) and both log-probabilities of `target`.
    ///
    /// - Throws: `RuntimeError` `.nonFinite` naming the row ("the reference" or "the model") and the
    ///   token id of the first NaN or ±Inf; `.invalidRequest` when the rows differ in length or
    ///   `target` is outside them.
    public static func divergence(reference: ArraySlice<Float>, model: ArraySlice<Float>, target: Int) throws -> TokenDivergence {
        guard reference.count == model.count, (0..<model.count).contains(target) else {
            throw RuntimeError(.invalidRequest, "rows of \(reference.count) and \(model.count) logits with target \(target)")
        }
        let a = try LogSoftmaxRow(reference, name: "the reference"), b = try LogSoftmaxRow(model, name: "the model")
        var kl = 0.0
        var i = reference.startIndex, j = model.startIndex
        while i < reference.endIndex {
            let la = Double(reference[i]) - a.logNormalizer, lb = Double(model[j]) - b.logNormalizer
            kl += exp(la) * (la - lb)
            i += 1
            j += 1
        }
        return TokenDivergence(
            kl: kl, sameTop: a.top == b.top,
            logProbability: Double(model[model.startIndex + target]) - b.logNormalizer,
            referenceLogProbability: Double(reference[reference.startIndex + target]) - a.logNormalizer)
    }

    /// A row's log Σ exp(logits) (so log softmax = logit − logNormalizer) and its first maximum.
    struct LogSoftmaxRow {
        var logNormalizer: Double
        var top: Int

        init(_ row: ArraySlice<Float>, name: String) throws {
            var m = -Float.infinity, top = 0
            for (k, v) in zip(0..., row) {
                guard v.isFinite else { throw RuntimeError(.nonFinite, "\(name)'s logits are not finite (NaN or ±Inf) at token id \(k)") }
                if v > m { m = v; top = k }
            }
            var sum = 0.0
            for v in row { sum += exp(Double(v) - Double(m)) }
            logNormalizer = Double(m) + log(sum)
            self.top = top
        }
    }
}
