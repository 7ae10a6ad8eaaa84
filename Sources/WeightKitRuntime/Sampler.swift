#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SplitMix64: a small, fast, seedable generator (argument-parser's `Examples/roll`), so the same
/// seed gives the same text on every machine.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator seeded with `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform float in [0, 1).
    mutating func nextUnit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

/// Chooses the next token from logits: greedy, or temperature with top-k / top-p, with an
/// optional repetition penalty.
public struct Sampler: Sendable {
    /// 0 means greedy.
    public var temperature: Float
    /// Keep only the k most likely tokens (0: all).
    public var topK: Int
    /// Keep the smallest set whose probability reaches p (1: all).
    public var topP: Float
    /// Divide positive (multiply negative) logits of already-seen tokens by this (1: off), as
    /// llama.cpp and transformers do.
    public var repetitionPenalty: Float
    /// How many recent tokens the penalty looks at.
    public var penaltyWindow: Int
    private var random: SplitMix64

    /// Creates a sampler; `seed` fixes the random choices.
    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, repetitionPenalty: Float = 1, penaltyWindow: Int = 64, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.repetitionPenalty = repetitionPenalty
        self.penaltyWindow = penaltyWindow
        self.random = SplitMix64(seed: seed)
    }

    /// The index of the largest value (first on ties).
    public static func argmax(_ logits: [Float]) -> Int {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best
    }

    /// Picks the next token given `logits` and the tokens so far.
    public mutating func sample(_ logits: [Float], history: [Int]) -> Int {
        var logits = logits
        if repetitionPenalty != 1 {
            for token in Set(history.suffix(penaltyWindow)) where token < logits.count {
                logits[token] = logits[token] > 0 ? logits[token] / repetitionPenalty : logits[token] * repetitionPenalty
            }
        }
        if temperature <= 0 { return Self.argmax(logits) }
        var order = Array(logits.indices).sorted { logits[$0] > logits[$1] }
        if topK > 0 && topK < order.count { order.removeLast(order.count - topK) }
        let maximum = logits[order[0]]
        var probabilities = order.map { expf((logits[$0] - maximum) / temperature) }
        let total = probabilities.reduce(0, +)
        probabilities = probabilities.map { $0 / total }
        if topP < 1 {
            var cumulative: Float = 0
            var keep = probabilities.count
            for (i, p) in probabilities.enumerated() {
                cumulative += p
                if cumulative >= topP { keep = i + 1; break }
            }
            order.removeLast(order.count - keep)
            probabilities.removeLast(probabilities.count - keep)
            let kept = probabilities.reduce(0, +)
            probabilities = probabilities.map { $0 / kept }
        }
        let r = random.nextUnit()
        var cumulative: Float = 0
        for (i, p) in probabilities.enumerated() {
            cumulative += p
            if r < cumulative { return order[i] }
        }
        return order[order.count - 1]
    }
}
