import WeightKitCore
import WeightKitGraph
import WeightKitRuntime
import WeightKitTokenizer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The weakest number format of a model's matrices, which sets how close it can be expected to
/// stay to a reference.
public enum SmokePrecision: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// Fewer than 4 bits per weight.
    case lowBits
    /// 4 to 5 bits per weight (Q4_0, Q4_1, Q4_K: 4.5–5 bits).
    case fourBit
    /// 5 to 7 bits (Q5_0, Q5_1, Q6_K).
    case sixBit
    /// 8 bits (Q8_0) and 8-bit floats.
    case eightBit
    /// f16 and bf16.
    case half
    /// f32 and f64.
    case full

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// The precision of one dtype (integers count as full: they are not weights).
    public init(_ dtype: DType) {
        if dtype.isQuantized {
            let bits = Double(dtype.blockBytes * 8) / Double(dtype.blockElements)
            self = bits >= 8 ? .eightBit : bits >= 5.5 ? .sixBit : bits >= 4 ? .fourBit : .lowBits
        } else {
            switch dtype {
            case .float16, .bfloat16: self = .half
            case .float8E4M3, .float8E5M2: self = .eightBit
            default: self = .full
            }
        }
    }

    /// The weakest precision among the matrices (rank ≥ 2) of `source`, as stored.
    public static func weakest(in source: any TensorSource) -> SmokePrecision {
        source.tensors.filter { $0.shape.rank >= 2 }.map { SmokePrecision($0.dtype) }.min() ?? .full
    }

    public var description: String {
        switch self {
        case .lowBits: return "below 4 bits"
        case .fourBit: return "4-bit"
        case .sixBit: return "5/6-bit"
        case .eightBit: return "8-bit"
        case .half: return "f16/bf16"
        case .full: return "f32"
        }
    }
}

/// How close a model's next-token distributions must stay to its reference's.
public struct SmokeThresholds: Sendable, Hashable {
    /// The least fraction of positions where both models rank the same token first.
    public var minTop1Agreement: Double
    /// The largest mean KL(reference ‖ model) over positions, in nats.
    public var maxMeanKL: Double
    /// The largest KL at any one position, in nats.
    public var maxKL: Double

    /// Sets the three limits.
    public init(minTop1Agreement: Double, maxMeanKL: Double, maxKL: Double) {
        self.minTop1Agreement = minTop1Agreement
        self.maxMeanKL = maxMeanKL
        self.maxKL = maxKL
    }

    /// The documented defaults for the weaker precision of the two models (docs/SMOKE.md):
    /// each passes every correct conversion we have with room to spare, and fails every broken one.
    public static func defaults(for precision: SmokePrecision) -> SmokeThresholds {
        switch precision {
        case .full: return SmokeThresholds(minTop1Agreement: 0.99, maxMeanKL: 1e-4, maxKL: 1e-3)
        case .half: return SmokeThresholds(minTop1Agreement: 0.95, maxMeanKL: 2e-3, maxKL: 0.05)
        case .eightBit: return SmokeThresholds(minTop1Agreement: 0.90, maxMeanKL: 0.02, maxKL: 0.3)
        case .sixBit: return SmokeThresholds(minTop1Agreement: 0.85, maxMeanKL: 0.05, maxKL: 0.6)
        case .fourBit: return SmokeThresholds(minTop1Agreement: 0.50, maxMeanKL: 1.5, maxKL: 10.0)
        case .lowBits: return SmokeThresholds(minTop1Agreement: 0.35, maxMeanKL: 3.0, maxKL: 15.0)
        }
    }
}

/// What `SmokeTest.run` does.
public struct SmokeOptions: Sendable {
    /// The prompts, each run through the model (and the reference) with a greedy continuation.
    public var prompts: [String]
    /// Tokens generated after each prompt.
    public var tokens: Int
    /// Limits for the comparison; each nil takes `SmokeThresholds.defaults` for the weaker precision.
    public var minTop1Agreement: Double?
    public var maxMeanKL: Double?
    public var maxKL: Double?
    /// How both models run.
    public var runtime: RuntimeOptions
    /// How many tensors the report lists, worst first (0: the tensors are not compared).
    public var worstTensors: Int
    /// An encoder against its reference: the least cosine of their embeddings (nil: by precision,
    /// `SmokeTest.minEmbeddingCosine(for:)`).
    public var minEmbeddingCosine: Double? = nil

    /// The built-in prompts, the defaults.
    public init(
        prompts: [String] = SmokeTest.builtInPrompts, tokens: Int = 16, minTop1Agreement: Double? = nil, maxMeanKL: Double? = nil,
        maxKL: Double? = nil, runtime: RuntimeOptions = RuntimeOptions(), worstTensors: Int = 5
    ) {
        self.prompts = prompts
        self.tokens = tokens
        self.minTop1Agreement = minTop1Agreement
        self.maxMeanKL = maxMeanKL
        self.maxKL = maxKL
        self.runtime = runtime
        self.worstTensors = worstTensors
    }

    /// The limits for models whose weaker precision is `precision`: the defaults, overridden
    /// where this says.
    public func thresholds(for precision: SmokePrecision) -> SmokeThresholds {
        var t = SmokeThresholds.defaults(for: precision)
        if let minTop1Agreement { t.minTop1Agreement = minTop1Agreement }
        if let maxMeanKL { t.maxMeanKL = maxMeanKL }
        if let maxKL { t.maxKL = maxKL }
        return t
    }
}

/// One model judged alone, or against a reference: pass or fail, with what failed and where.
public enum SmokeTest {
    /// Short prompts of different kinds: prose, a story, code, a sequence.
    public static let builtInPrompts = [
        "The capital of France is", "Once upon a time, there was a little", "def fibonacci(n):\n    ", "1, 2, 3, 4, 5,",
    ]

    /// No reference: a uniform next-token distribution (mean entropy at least this fraction of
    /// log(vocabulary)) means the model says nothing. Correct random-weight models come close
    /// (the tiny Granite fixture: 99.8%), so only a model that says nothing at all fails.
    public static let maxRelativeEntropy = 0.9995
    /// With a reference: a tensor further than this from the reference's (RMS of the difference
    /// over RMS of the reference's) was not just quantized. 4-bit blocks give about 0.1, 2-bit
    /// about 0.4; a permuted, swapped, transposed or zeroed tensor 1 to 1.4.
    public static let maxTensorError = 0.6
    /// With a reference: a sublayer whose output differs from the reference's by more than this
    /// (relative RMS) is where the two models part.
    public static let divergenceLevel = 0.3

    /// Loads `path` (and `reference`), runs the prompts and judges.
    ///
    /// - Throws: load and bind errors of either model; `SmokeError` when no prompt can be
    ///   encoded (no tokenizer) or the reference itself goes non-finite. A model that goes
    ///   non-finite, disagrees with its reference or looks degenerate is a failed report, not an error.
    public static func run(model path: String, against reference: String? = nil, options: SmokeOptions = SmokeOptions()) throws -> SmokeReport {
        guard options.tokens >= 1, !options.prompts.isEmpty else { throw SmokeError("nothing to run: \(options.prompts.count) prompts, \(options.tokens) tokens") }
        let model = try ModelLoader.load(path: path)
        let base = try reference.map { try ModelLoader.load(path: $0) }
        var report = SmokeReport(model: path, reference: reference, precision: SmokePrecision.weakest(in: model.source))
        report.referencePrecision = base.map { SmokePrecision.weakest(in: $0.source) }
        let vocab = model.graph.config.vocabSize
        let tokenizer: any Tokenizer
        if let own = model.tokenizer ?? base?.tokenizer {
            tokenizer = own
        } else {
            tokenizer = ByteIDs(vocabularySize: vocab)
            report.notes.append("no tokenizer: each prompt runs as its UTF-8 bytes taken as token ids (modulo the vocabulary)")
        }
        if !model.graph.config.causal || base.map({ !$0.graph.config.causal }) == true {
            try encoderChecks(model, base, tokenizer: tokenizer, options: options, into: &report)
            return report
        }
        if let base {
            try compare(model, base, tokenizer: tokenizer, options: options, into: &report)
        } else {
            for prompt in options.prompts {
                let ids = tokenizer.encode(prompt, addSpecialTokens: true)
                guard !ids.isEmpty else { continue }
                var run = SmokeReport.PromptRun(prompt: prompt, ids: ids)
                do {
                    let (continuation, logits) = try greedy(model.graph, ids, tokens: options.tokens, options: options.runtime)
                    run.continuationIDs = continuation
                    run.continuation = tokenizer.decode(continuation, skipSpecialTokens: false)
                    run.entropies = logits.map(ModelComparison.entropy)
                    run.topTokens = logits.map(Sampler.argmax)
                } catch let error as RuntimeError where error.kind == .nonFinite {
                    report.checks.append(.init(name: "finite", passed: false, detail: error.message, location: "prompt \(String(reflecting: prompt))"))
                    return report
                }
                report.prompts.append(run)
            }
            report.checks.append(.init(name: "finite", passed: true, detail: "every layer's output and every logit finite"))
        }
        if !report.checks.contains(where: { $0.name == "finite" && !$0.passed }) {
            report.checks.append(distributionCheck(report.prompts, vocab: vocab))
        }
        return report
    }

    /// Greedy continuation of `ids` (not empty), token by token, with the logits at every
    /// position, and the sublayer outputs recorded when `recorder` is given.
    static func greedy(
        _ graph: ModelGraph, _ ids: [Int], tokens: Int, options: RuntimeOptions, recorder: SublayerRecorder? = nil
    ) throws -> ([Int], [[Float]]) {
        let transformer = Transformer(graph: graph, maxSequence: ids.count + tokens, options: options)
        transformer.observer = recorder
        var logits = try ids.map { try transformer.forward([$0]) }
        var continuation = [Sampler.argmax(logits[logits.count - 1])]
        while continuation.count < tokens, transformer.position < transformer.capacity {
            logits.append(try transformer.forward([continuation[continuation.count - 1]]))
            continuation.append(Sampler.argmax(logits[logits.count - 1]))
        }
        return (continuation, logits)
    }

    /// The logits at every position of `ids` (teacher forcing), with the sublayer outputs recorded.
    static func forced(_ graph: ModelGraph, _ ids: [Int], options: RuntimeOptions, recorder: SublayerRecorder?) throws -> [[Float]] {
        let transformer = Transformer(graph: graph, maxSequence: ids.count, options: options)
        transformer.observer = recorder
        return try ids.map { try transformer.forward([$0]) }
    }

    /// The no-reference judgement of the next-token distributions.
    static func distributionCheck(_ runs: [SmokeReport.PromptRun], vocab: Int) -> SmokeReport.Check {
        let entropies = runs.flatMap(\.entropies), tops = runs.flatMap(\.topTokens)
        guard !entropies.isEmpty else { return .init(name: "distribution", passed: true, detail: "no positions") }
        let mean = entropies.reduce(0, +) / Double(entropies.count)
        let relative = mean / log(Double(max(vocab, 2)))
        if relative >= maxRelativeEntropy {
            return .init(
                name: "distribution", passed: false,
                detail: "near-uniform next-token distributions: mean entropy \(format(mean)) nats, \(format(relative * 100))% of the uniform \(format(log(Double(vocab))))")
        }
        if tops.count >= 8, Set(tops).count == 1 {
            return .init(name: "distribution", passed: false, detail: "collapsed: token \(tops[0]) ranks first at all \(tops.count) positions of every prompt")
        }
        let continuations = runs.map(\.continuationIDs).filter { !$0.isEmpty }
        if continuations.count >= 2, Set(continuations).count == 1 {
            return .init(name: "distribution", passed: false, detail: "the continuation does not depend on the prompt: \(continuations.count) prompts, one continuation \(continuations[0])")
        }
        return .init(name: "distribution", passed: true, detail: "mean entropy \(format(mean)) nats (\(format(relative * 100))% of uniform), \(Set(tops).count) distinct top tokens")
    }

    static func format(_ x: Double) -> String {
        if x == 0 { return "0" }
        if abs(x) >= 0.01 && abs(x) < 1e5 { return String(Double((x * 1000).rounded()) / 1000) }
        let exponent = Int(floor(log10(abs(x))))
        let mantissa = (x / pow(10, Double(exponent)) * 100).rounded() / 100
        return "\(mantissa)e\(exponent)"
    }
}

/// Stands in for a missing tokenizer: UTF-8 bytes as token ids, ids shown as numbers.
struct ByteIDs: Tokenizer {
    let vocabularySize: Int
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int] { text.utf8.map { Int($0) % max(vocabularySize, 1) } }
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String { ids.map(String.init).joined(separator: " ") }
    func token(for id: Int) -> String? { String(id) }
    func id(for token: String) -> Int? { Int(token) }
    var bosTokenId: Int? { nil }
    var eosTokenId: Int? { nil }
    func isSpecial(_ id: Int) -> Bool { false }
}

/// A smoke test that cannot be run (no tokenizer, no prompt, a reference that is itself broken).
public struct SmokeError: Error, Sendable, CustomStringConvertible {
    /// What is missing or wrong.
    public var message: String
    /// Creates the error.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
