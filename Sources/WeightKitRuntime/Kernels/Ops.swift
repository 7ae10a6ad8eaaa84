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

    /// out = (x - mean) / sqrt(var + eps) * weight + bias (LayerNorm, GPT-2).
    public static func layerNorm(
        _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
        _ out: UnsafeMutablePointer<Float>, count: Int, epsilon: Float
    ) {
        var mean: Float = 0
        for i in 0..<count { mean += unsafe x[i] }
        mean /= Float(count)
        var variance: Float = 0
        for i in 0..<count { let d = unsafe x[i] - mean; variance += d * d }
        variance /= Float(count)
        let scale = 1 / (variance + epsilon).squareRoot()
        for i in 0..<count { unsafe out[i] = (x[i] - mean) * scale * weight[i] + bias[i] }
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

    /// Rotates the heads of `vector` ([heads, headDim]) to `position` (RoPE), with the angles in
    /// `table` (`ropeTable`, which holds the base frequency theta).
    ///
    /// `halfSplit` pairs dimension i with i + headDim/2 (Hugging Face `rotate_half`);
    /// otherwise pairs are adjacent (2i, 2i+1), as GGUF's permuted Q/K expect. Pair i turns by
    /// position · theta^(-2i/headDim) in both layouts.
    public static func rope(
        _ vector: UnsafeMutablePointer<Float>, heads: Int, headDim: Int, position: Int, halfSplit: Bool, table: UnsafePointer<Float>
    ) {
        let half = headDim / 2
        for h in 0..<heads {
            let head = unsafe vector + h * headDim
            for i in 0..<half {
                let cos = unsafe table[(position * half + i) * 2], sin = unsafe table[(position * half + i) * 2 + 1]
                let (a, b) = halfSplit ? (i, i + half) : (2 * i, 2 * i + 1)
                let x0 = unsafe head[a], x1 = unsafe head[b]
                unsafe head[a] = x0 * cos - x1 * sin
                unsafe head[b] = x0 * sin + x1 * cos
            }
        }
    }

    /// cos/sin of position·freq for every position < `positions` and pair i < headDim/2, with
    /// freq = theta^(-2i/headDim): [positions, headDim/2, 2].
    ///
    /// As transformers computes them: inv_freq = 1 / base ** (arange(0, dim, 2) / dim) in float32,
    /// the angle position · inv_freq rounded to float32, and its cos and sin in float32.
    public static func ropeTable(positions: Int, headDim: Int, theta: Float) -> [Float] {
        let half = headDim / 2
        var table = [Float](repeating: 0, count: positions * half * 2)
        for i in 0..<half {
            let invFreq = Float(1.0) / powf(theta, Float(2 * i) / Float(headDim))
            for p in 0..<positions {
                let angle = Float(p) * invFreq
                table[(p * half + i) * 2] = cosf(angle)
                table[(p * half + i) * 2 + 1] = sinf(angle)
            }
        }
        return table
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
        length: Int, scale: Float, scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>,
        kernels: KernelConfig = .automatic
    ) {
        unsafe wk_attend(kernels.isa, q, keys, values, stride, headDim, length, scale, scores, out)
    }

    /// The reference for `attend`: a dot product per position, the scalar softmax, an axpy per
    /// position, in Swift.
    public static func scalarAttend(
        _ q: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int, headDim: Int,
        length: Int, scale: Float, scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>
    ) {
        for p in 0..<length {
            var s: Float = 0
            for c in 0..<headDim { s += unsafe q[c] * keys[p * stride + c] }
            unsafe scores[p] = s * scale
        }
        unsafe scalarSoftmax(scores, count: length)
        unsafe out.update(repeating: 0, count: headDim)
        for p in 0..<length {
            for c in 0..<headDim { unsafe out[c] += scores[p] * values[p * stride + c] }
        }
    }
}
