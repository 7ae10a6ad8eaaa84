import CWeightKitKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The small per-vector operations of a forward pass: norms, RoPE, softmax, activations.
/// Each is O(width) per token; the matrix products dominate.
public enum Ops {
    /// out = x / rms(x) * weight (RMSNorm, Llama).
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int, epsilon: Float) {
        var ss: Float = 0
        for i in 0..<count { ss += unsafe x[i] * x[i] }
        let scale = 1 / (ss / Float(count) + epsilon).squareRoot()
        for i in 0..<count { unsafe out[i] = weight[i] * (x[i] * scale) }
    }

    /// out = (x - mean) / sqrt(var + eps) * weight (+ bias when given) (LayerNorm, GPT-2).
    public static func layerNorm(
        _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
        _ out: UnsafeMutablePointer<Float>, count: Int, epsilon: Float
    ) {
        var mean: Float = 0
        for i in 0..<count { mean += unsafe x[i] }
        mean /= Float(count)
        var variance: Float = 0
        for i in 0..<count { let d = unsafe x[i] - mean; variance += d * d }
        variance /= Float(count)
        let scale = 1 / (variance + epsilon).squareRoot()
        for i in 0..<count { unsafe out[i] = (x[i] - mean) * scale * weight[i] + (bias?[i] ?? 0) }
    }

    /// In-place numerically stable softmax (C, `wk_softmax`: a vector exp on AVX2).
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int, kernels: KernelConfig = .automatic) {
        unsafe wk_softmax(kernels.isa, x, count)
    }

    /// The reference softmax: subtracts the max, libm's expf one value at a time.
    public static func scalarSoftmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        var maximum = unsafe x[0]
        for i in 1..<count { maximum = max(maximum, unsafe x[i]) }
        var sum: Float = 0
        for i in 0..<count {
            let e = expf(unsafe x[i] - maximum)
            unsafe x[i] = e
            sum += e
        }
        let inv = 1 / sum
        for i in 0..<count { unsafe x[i] *= inv }
    }

    /// Rotates the first `rotaryDim` dimensions of each head of `vector` ([heads, headDim]) by
    /// the angles whose cos and sin `row` holds ([rotaryDim/2, 2], from `ropeRow`).
    ///
    /// `halfSplit` pairs dimension i with i + rotaryDim/2 (Hugging Face `rotate_half`);
    /// otherwise pairs are adjacent (2i, 2i+1), as GGUF's permuted Q/K expect. Dimensions past
    /// `rotaryDim` (partial rotary) pass through.
    public static func rope(
        _ vector: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, rotaryDim: Int, halfSplit: Bool, row: UnsafePointer<Float>
    ) {
        let half = rotaryDim / 2
        for h in 0..<heads {
            let head = unsafe vector + h * headDim
            for i in 0..<half {
                let cos = unsafe row[2 * i], sin = unsafe row[2 * i + 1]
                let (a, b) = halfSplit ? (i, i + half) : (2 * i, 2 * i + 1)
                let x0 = unsafe head[a], x1 = unsafe head[b]
                unsafe head[a] = x0 * cos - x1 * sin
                unsafe head[b] = x0 * sin + x1 * cos
            }
        }
    }

    /// cos and sin of position · inverse[i] for each pair i, times `attentionFactor`: [pairs, 2].
    ///
    /// As transformers computes them: the angle rounded to float32 from float32 operands, its cos
    /// and sin in float32, then scaled.
    public static func ropeRow(inverse: [Float], attentionFactor: Float, position: Int, into row: UnsafeMutablePointer<Float>) {
        for (i, f) in inverse.enumerated() {
            let angle = Float(position) * f
            unsafe row[2 * i] = cosf(angle) * attentionFactor
            unsafe row[2 * i + 1] = sinf(angle) * attentionFactor
        }
    }

    /// x = silu(x) = x · sigmoid(x) (an ungated SiLU MLP).
    public static func silu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { let z = unsafe x[i]; unsafe x[i] = z / (1 + expf(-z)) }
    }

    /// x *= factor.
    public static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        for i in 0..<count { unsafe x[i] *= factor }
    }

    /// x = cap · tanh(x / cap) (Gemma 2's soft-capping).
    public static func softCap(_ x: UnsafeMutablePointer<Float>, count: Int, cap: Float) {
        for i in 0..<count { unsafe x[i] = cap * tanhf(x[i] / cap) }
    }

    /// The index of the first NaN or ±Inf in x[0 ..< count], or nil (C, `wk_first_nonfinite`).
    public static func firstNonFinite(_ x: UnsafePointer<Float>, count: Int) -> Int? {
        let i = unsafe wk_first_nonfinite(x, count)
        return i < 0 ? nil : i
    }

    /// gate = act(gate) · up for the GELU activations (Gemma's gated GELU).
    public static func geluGate(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int, tanhApproximation: Bool) {
        unsafe gelu(gate, count: count, tanhApproximation: tanhApproximation)
        for i in 0..<count { unsafe gate[i] *= up[i] }
    }

    /// gate = silu(gate) * up (SwiGLU), in place on `gate` (C, `wk_swiglu`: a vector exp on AVX2).
    public static func swiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int, kernels: KernelConfig = .automatic) {
        unsafe wk_swiglu(kernels.isa, gate, up, count)
    }

    /// The reference SwiGLU: libm's expf one value at a time.
    public static func scalarSwiglu(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = unsafe gate[i]
            unsafe gate[i] = g / (1 + expf(-g)) * up[i]
        }
    }

    /// x = gelu(x), tanh approximation (GPT-2's gelu_new) or exact erf.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int, tanhApproximation: Bool) {
        for i in 0..<count {
            let v = unsafe x[i]
            if tanhApproximation {
                unsafe x[i] = 0.5 * v * (1 + tanhf(0.7978845608028654 * (v + 0.044715 * v * v * v)))
            } else {
                unsafe x[i] = 0.5 * v * (1 + erff(v * 0.70710678118654752))
            }
        }
    }

    /// y += x.
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { unsafe y[i] += x[i] }
    }

    /// Dot product.
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, kernels: KernelConfig = .automatic) -> Float {
        unsafe wk_dot_f32(kernels.isa, a, b, count)
    }

    /// One head of attention over `length` cached positions: `scores[p]` = softmax over p of
    /// scale·q·keys[p] (left in `scores`), `out` = Σ_p scores[p]·values[p]. Position p's key and
    /// value start `p · stride` floats after `keys` and `values`; q, out, keys and values have
    /// `headDim` floats each.
    public static func attend(
        _ q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, headDim: Int,
        length: Int, scale: Float, softCap: Float = 0, scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>,
        kernels: KernelConfig = .automatic
    ) {
        unsafe wk_attend(kernels.isa, q, keys, values, stride, headDim, length, scale, softCap, scores, out)
    }

    /// The reference for `attend`: a dot product per position, the scalar softmax, an axpy per
    /// position, in Swift.
    public static func scalarAttend(
        _ q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, headDim: Int,
        length: Int, scale: Float, softCap: Float = 0, scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        for p in 0..<length {
            var s: Float = 0
            for c in 0..<headDim { s += unsafe q[c] * keys[p * stride + c] }
            unsafe scores[p] = s * scale
        }
        if softCap > 0 { unsafe Ops.softCap(scores, count: length, cap: softCap) }
        unsafe scalarSoftmax(scores, count: length)
        unsafe out.update(repeating: 0, count: headDim)
        for p in 0..<length {
            for c in 0..<headDim { unsafe out[c] += scores[p] * values[p * stride + c] }
        }
    }
}
