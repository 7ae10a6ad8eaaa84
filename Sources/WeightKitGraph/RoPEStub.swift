import WeightKitCore
// TEMPORARY stand-in for the wk18-rope branch's RoPEScaling.swift (same API); deleted at merge.
public struct RoPEConfig: Sendable, Hashable {
    public var theta: Double
    public var rotaryDim: Int
    public var scaling: RoPEScaling
    public init(theta: Double, rotaryDim: Int, scaling: RoPEScaling = .none) {
        self.theta = theta; self.rotaryDim = rotaryDim; self.scaling = scaling
    }
    public func frequencies(sequenceLength: Int) -> (inverse: [Double], attentionFactor: Double) {
        ((0..<rotaryDim / 2).map { 1 / Foundation_pow(theta, Double(2 * $0) / Double(rotaryDim)) }, 1)
    }
    public var extendedContext: Int? { nil }
}
public enum RoPEScaling: Sendable, Hashable {
    case none
    case frequencyFactors([Double])
}
func Foundation_pow(_ a: Double, _ b: Double) -> Double { exp(b * log(a)) }
#if canImport(Glibc)
import Glibc
#endif
extension RoPEConfig {
    public init(huggingFace json: JSONObject, headDim: Int, layerType: String? = nil, path: String? = nil) throws(GraphError) {
        var theta = json["rope_theta"]?.number ?? json["rope_parameters"]?.object?["rope_theta"]?.number ?? json["rotary_emb_base"]?.number ?? 10000
        if layerType == "sliding_attention", let local = json["rope_local_base_freq"]?.number { theta = local }
        if let per = json["rope_parameters"]?.object?[layerType ?? ""]?.object, let t = per["rope_theta"]?.number { theta = t }
        guard theta > 0 else { throw GraphError(.invalidConfig, "rope_theta \(theta) must be > 0", path: path) }
        let fraction = json["partial_rotary_factor"]?.number ?? json["rotary_pct"]?.number ?? 1
        self.init(theta: theta, rotaryDim: Int(Double(headDim) * fraction))
    }
}
