#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightKitRuntime

/// The result of scoring a token sequence: Σ −log p over the scored tokens.
public struct PerplexityScore: Sendable, Equatable {
    /// Σ −log p(token | the tokens before it in its window), in nats.
    public var negativeLogLikelihood: Double
    /// How many tokens were scored (every token but the first).
    public var scoredTokens: Int

    /// Mean negative log-likelihood per scored token.
    public var meanNLL: Double { scoredTokens > 0 ? negativeLogLikelihood / Double(scoredTokens) : 0 }
    /// exp(mean negative log-likelihood).
    public var perplexity: Double { exp(meanNLL) }
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

    /// Scores `ids` with `transformer` (built for at least `context` positions). Context that
    /// is not scored is prefilled in one pass; scored tokens are decoded one at a time.
    /// `progress` is called with (tokens scored up to, total).
    ///
    /// - Throws: `RuntimeError` `.invalidRequest` for fewer than 2 tokens, a context below 2 or
    ///   a stride outside 1...context; the forward pass's errors (a token outside the vocabulary).
    public static func score(
        _ ids: [Int], transformer: Transformer, context: Int, stride: Int, progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> PerplexityScore {
        guard ids.count >= 2 else { throw RuntimeError(.invalidRequest, "the text has fewer than 2 tokens") }
        guard context >= 2, (1...context).contains(stride) else {
            throw RuntimeError(.invalidRequest, "the context must be at least 2 and the stride between 1 and the context (got \(context), \(stride))")
        }
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
                progress?(t, ids.count)
                if t + 1 < end { logits = try transformer.forward([ids[t]]) }
            }
            previousEnd = end
            if end == ids.count { break }
            begin += stride
        }
        progress?(ids.count, ids.count)
        return PerplexityScore(negativeLogLikelihood: nll, scoredTokens: scored)
    }

    /// log softmax(logits)[index], in double precision.
    public static func logSoftmax(_ logits: [Float], at index: Int) -> Double {
        let m = Double(logits.max() ?? 0)
        var sum = 0.0
        for v in logits { sum += exp(Double(v) - m) }
        return Double(logits[index]) - m - log(sum)
    }
}
