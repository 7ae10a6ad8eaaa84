import WeightKitCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Rotary position embedding of one attention kind, as data: its base, how many dimensions of a
/// head it rotates, and how its frequencies are scaled for long contexts.
///
/// The arithmetic follows transformers 5's `modeling_rope_utils.py` (`_compute_*_parameters` and
/// `dynamic_rope_update`), in `Double` where transformers uses float32. Read from a Hugging Face
/// config with `init(huggingFace:headDim:layerType:path:)`; built by hand (GGUF), check it with
/// `validate(path:)` before asking for frequencies.
public struct RoPEConfig: Sendable, Hashable {
    /// The base of the geometric frequency series (`rope_theta`); > 0.
    public var theta: Double
    /// Dimensions rotated per head, even, 2 ... headDim; fewer than headDim is partial rotary
    /// (the rest of the head passes through unrotated).
    public var rotaryDim: Int
    /// How the frequencies are scaled.
    public var scaling: RoPEScaling

    /// Creates a configuration; `validate(path:)` checks it.
    public init(theta: Double, rotaryDim: Int, scaling: RoPEScaling = .none) {
        self.theta = theta
        self.rotaryDim = rotaryDim
        self.scaling = scaling
    }

    /// The rotaryDim/2 inverse frequencies and the factor cos and sin are multiplied by
    /// (transformers' `attention_scaling`), for a forward call whose largest position is
    /// `sequenceLength - 1` — dynamic and longrope depend on it exactly as transformers 5's
    /// `dynamic_rope_update` does during generation with a KV cache.
    ///
    /// In transformers the length is `max(position_ids) + 1` of the current call, so during
    /// cached generation each decode step of position p uses `sequenceLength = p + 1` (keys already
    /// in the cache keep the rotation they were stored with). Dynamic NTK recomputes only when
    /// the length grows and resets once it falls back below `max_position_embeddings`: for
    /// lengths that never shrink between those points (one generation), the result is this
    /// function of `sequenceLength` alone.
    ///
    /// - Precondition: `validate()` passes (a programmer error otherwise, never file contents).
    public func frequencies(sequenceLength: Int) -> (inverse: [Double], attentionFactor: Double) {
        precondition(rotaryDim >= 2 && rotaryDim % 2 == 0 && theta > 0, "RoPEConfig not validated: \(self)")
        let half = rotaryDim / 2
        let dim = Double(rotaryDim)
        // theta^(-2i/d), i = 0 ..< d/2: the unscaled series every variant starts from.
        func series(base: Double) -> [Double] {
            (0..<half).map { 1 / pow(base, Double(2 * $0) / dim) }
        }
        switch scaling {
        case .none:
            return (series(base: theta), 1)
        case .linear(let factor):
            return (series(base: theta).map { $0 / factor }, 1)
        case .dynamic(let factor, let originalContext):
            // _compute_dynamic_ntk_parameters: the length never counts below the original context.
            let length = Double(max(sequenceLength, originalContext))
            let base = theta * pow(factor * length / Double(originalContext) - (factor - 1), dim / (dim - 2))
            return (series(base: base), 1)
        case .llama3(let factor, let low, let high, let originalContext):
            return (Self.llama3(series(base: theta), factor: factor, low: low, high: high, originalContext: originalContext), 1)
        case .yarn(let yarn):
            return yarn.frequencies(theta: theta, rotaryDim: rotaryDim)
        case .longrope(let short, let long, let originalContext, let attentionFactor):
            // longrope_frequency_update: the long factors once the call reaches past the original context.
            let factors = sequenceLength > originalContext ? long : short
            precondition(factors.count == half, "RoPEConfig not validated: \(factors.count) longrope factors for \(half) frequencies")
            return (zip(series(base: theta), factors).map { $0 / $1 }, attentionFactor)
        case .frequencyFactors(let factors):
            precondition(factors.count == half, "RoPEConfig not validated: \(factors.count) rope_freqs factors for \(half) frequencies")
            return (zip(series(base: theta), factors).map { $0 / $1 }, 1)
        }
    }

    /// True when `frequencies(sequenceLength:)` depends on the length (dynamic NTK, longrope);
    /// otherwise they can be computed once per model.
    public var dependsOnSequenceLength: Bool {
        switch scaling {
        case .dynamic, .longrope: return true
        default: return false
        }
    }

    /// Longest sequence the model may run with this scaling (dynamic NTK extends
    /// max_position_embeddings by its factor; others: nil = the config's own limit).
    public var extendedContext: Int? {
        guard case .dynamic(let factor, let originalContext) = scaling else { return nil }
        return Int((Double(originalContext) * factor).rounded(.down))
    }

    /// _compute_llama3_parameters: wavelengths above originalContext/low divided by the factor,
    /// below originalContext/high kept, in between interpolated smoothly.
    private static func llama3(_ inverse: [Double], factor: Double, low: Double, high: Double, originalContext: Int) -> [Double] {
        let context = Double(originalContext)
        let lowWavelength = context / low
        let highWavelength = context / high
        return inverse.map { frequency in
            let wavelength = 2 * Double.pi / frequency
            if wavelength < highWavelength { return frequency }
            if wavelength > lowWavelength { return frequency / factor }
            let smooth = (context / wavelength - low) / (high - low)
            return (1 - smooth) * frequency / factor + smooth * frequency
        }
    }
}

/// How RoPE frequencies are scaled for contexts longer than the model was trained on; each case
/// is one of transformers' `rope_type`s, or GGUF's precomputed factors.
public enum RoPEScaling: Sendable, Hashable {
    /// Plain RoPE (`default`).
    case none
    /// Position interpolation: every inverse frequency divided by `factor` (`linear`).
    case linear(factor: Double)
    /// Dynamic NTK (`dynamic`): the base grows with the sequence length once it passes
    /// `originalContext`, which is `max_position_embeddings` (transformers reads no other).
    case dynamic(factor: Double, originalContext: Int)
    /// Llama 3.1 (`llama3`): low frequencies divided by `factor`, high ones kept, a smooth ramp
    /// between the wavelengths originalContext/lowFrequencyFactor and originalContext/highFrequencyFactor.
    case llama3(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalContext: Int)
    /// YaRN (`yarn`).
    case yarn(YaRNScaling)
    /// LongRoPE (`longrope`, Phi-3's `su`): per-frequency divisors, `shortFactor` up to
    /// `originalContext` positions and `longFactor` beyond; cos and sin times `attentionFactor`.
    case longrope(shortFactor: [Double], longFactor: [Double], originalContext: Int, attentionFactor: Double)
    /// GGUF `rope_freqs.weight`: inverse frequency i divided by factors[i].
    case frequencyFactors([Double])
}

/// YaRN's parameters (transformers `_compute_yarn_parameters`), defaults already applied.
public struct YaRNScaling: Sendable, Hashable {
    /// Context extension factor (`factor`).
    public var factor: Double
    /// Context the model was trained with (`original_max_position_embeddings`).
    public var originalContext: Int
    /// Rotations above which dimensions are extrapolated (`beta_fast`, 32 when absent or 0).
    public var betaFast: Double
    /// Rotations below which dimensions are interpolated (`beta_slow`, 1 when absent or 0).
    public var betaSlow: Double
    /// `mscale`, 0 when absent; with `mscaleAllDim` it sets the default attention factor.
    public var mscale: Double
    /// `mscale_all_dim`, 0 when absent. MLA models (DeepSeek) also multiply the softmax scale by
    /// `(0.1 · mscaleAllDim · ln(factor) + 1)²` (transformers `yarn_apply_mscale`): that is the
    /// attention's business, not the rotation's.
    public var mscaleAllDim: Double
    /// `attention_factor` when the config gives it; otherwise derived from factor and mscales.
    public var attentionFactor: Double?
    /// Whether the correction range is rounded outward to whole dimensions (`truncate`, default true).
    public var truncate: Bool

    /// Creates YaRN parameters; the defaults are transformers'.
    public init(factor: Double, originalContext: Int, betaFast: Double = 32, betaSlow: Double = 1, mscale: Double = 0,
                mscaleAllDim: Double = 0, attentionFactor: Double? = nil, truncate: Bool = true) {
        self.factor = factor
        self.originalContext = originalContext
        self.betaFast = betaFast
        self.betaSlow = betaSlow
        self.mscale = mscale
        self.mscaleAllDim = mscaleAllDim
        self.attentionFactor = attentionFactor
        self.truncate = truncate
    }

    /// The factor cos and sin are multiplied by: `attentionFactor`, else
    /// mscale(factor, mscale) / mscale(factor, mscaleAllDim) when both are non-zero, else mscale(factor, 1).
    public var resolvedAttentionFactor: Double {
        if let attentionFactor { return attentionFactor }
        if mscale != 0 && mscaleAllDim != 0 {
            return Self.mscale(factor, mscale) / Self.mscale(factor, mscaleAllDim)
        }
        return Self.mscale(factor, 1)
    }

    /// `yarn_get_mscale`: 0.1 · m · ln(scale) + 1, or 1 when scale ≤ 1.
    static func mscale(_ scale: Double, _ m: Double) -> Double {
        scale <= 1 ? 1 : 0.1 * m * log(scale) + 1
    }

    /// Blends interpolated (divided by factor) and extrapolated (unchanged) frequencies with a
    /// linear ramp over the dimensions between the betaFast and betaSlow correction points.
    func frequencies(theta: Double, rotaryDim: Int) -> (inverse: [Double], attentionFactor: Double) {
        let dim = Double(rotaryDim)
        // find_correction_dim: the dimension whose wavelength turns `rotations` times in the original context.
        func correction(_ rotations: Double) -> Double {
            dim * log(Double(originalContext) / (rotations * 2 * Double.pi)) / (2 * log(theta))
        }
        var low = correction(betaFast)
        var high = correction(betaSlow)
        if truncate {
            low = low.rounded(.down)
            high = high.rounded(.up)
        }
        low = max(low, 0)
        high = min(high, dim - 1)
        if low == high { high += 0.001 }  // linear_ramp_factor's guard against a zero-width ramp
        let inverse = (0..<rotaryDim / 2).map { i in
            let extrapolated = 1 / pow(theta, Double(2 * i) / dim)
            let interpolated = extrapolated / factor
            let ramp = min(max((Double(i) - low) / (high - low), 0), 1)
            let keep = 1 - ramp  // share of the extrapolated (unscaled) frequency
            return interpolated * (1 - keep) + extrapolated * keep
        }
        return (inverse, resolvedAttentionFactor)
    }
}

extension RoPEConfig {
    /// Checks what `frequencies(sequenceLength:)` relies on: theta > 0 and finite, an even
    /// rotaryDim ≥ 2 (> 2 for dynamic NTK, whose exponent is d/(d-2)), positive finite factors,
    /// positive contexts, llama3's high frequency factor above the low one, and one factor per
    /// frequency (rotaryDim/2) for longrope and GGUF factors. Errors name the field and its value.
    public func validate(path: String? = nil) throws(GraphError) {
        func fail(_ message: String) -> GraphError { GraphError(.invalidConfig, "RoPE: " + message, path: path) }
        func positive(_ name: String, _ value: Double) throws(GraphError) {
            guard value > 0 && value.isFinite else { throw fail("\(name) \(value) must be a finite number > 0") }
        }
        func context(_ value: Int) throws(GraphError) {
            guard value > 0 else { throw fail("original context \(value) must be > 0") }
        }
        func factors(_ name: String, _ values: [Double]) throws(GraphError) {
            guard values.count == rotaryDim / 2 else {
                throw fail("\(name) has \(values.count) factors, rotary dimension \(rotaryDim) needs \(rotaryDim / 2)")
            }
            for value in values { try positive(name, value) }
        }
        try positive("theta", theta)
        guard rotaryDim >= 2 && rotaryDim % 2 == 0 else { throw fail("rotary dimension \(rotaryDim) must be even and ≥ 2") }
        switch scaling {
        case .none:
            break
        case .linear(let factor):
            try positive("factor", factor)
        case .dynamic(let factor, let originalContext):
            try positive("factor", factor)
            try context(originalContext)
            guard rotaryDim > 2 else { throw fail("dynamic NTK needs a rotary dimension > 2 (exponent d/(d-2)), got \(rotaryDim)") }
        case .llama3(let factor, let low, let high, let originalContext):
            try positive("factor", factor)
            try positive("low_freq_factor", low)
            try positive("high_freq_factor", high)
            try context(originalContext)
            guard high > low else { throw fail("high_freq_factor \(high) must be greater than low_freq_factor \(low)") }
        case .yarn(let yarn):
            try positive("factor", yarn.factor)
            try context(yarn.originalContext)
            try positive("beta_fast", yarn.betaFast)
            try positive("beta_slow", yarn.betaSlow)
            if let attention = yarn.attentionFactor { try positive("attention_factor", attention) }
            guard yarn.resolvedAttentionFactor.isFinite && yarn.resolvedAttentionFactor > 0 else {
                throw fail("mscale \(yarn.mscale) / mscale_all_dim \(yarn.mscaleAllDim) give attention factor \(yarn.resolvedAttentionFactor)")
            }
        case .longrope(let short, let long, let originalContext, let attentionFactor):
            try factors("short_factor", short)
            try factors("long_factor", long)
            try context(originalContext)
            try positive("attention_factor", attentionFactor)
        case .frequencyFactors(let values):
            try factors("rope_freqs", values)
        }
    }
}
