import CWeightKitKernels
import WeightKitCore

/// Which body of the fused Q8_0/Q4_0/Q4_1 encoder (`wk_encode_blocks32`) runs: both give the
/// same bytes; `best` is the widest this CPU has (AVX2 with F16C, detected once per process).
public enum EncoderBody: Int32, Sendable, CaseIterable {
    /// Plain C, any CPU.
    case portable = 0
    /// AVX2 + F16C.
    case avx2 = 1

    /// The widest body this CPU runs.
    public static let best: EncoderBody = wk_cpu_isa() >= Int32(WK_ISA_AVX2.rawValue) ? .avx2 : .portable
}

extension QuantScheme {
    /// Whether `encodeFused` takes this scheme from `dtype` (Q8_0, Q4_0, Q4_1 from f32, f16, bf16).
    static func fusedCodes(_ scheme: QuantScheme, from dtype: DType) -> (qtype: Int32, dtype: Int32)? {
        let q: Int32
        switch scheme {
        case .q8_0, .q4_0, .q4_1: q = scheme.kernelType
        default: return nil
        }
        switch dtype {
        case .float32: return (q, Int32(WK_F32.rawValue))
        case .float16: return (q, Int32(WK_F16.rawValue))
        case .bfloat16: return (q, Int32(WK_BF16.rawValue))
        default: return nil
        }
    }

    /// Encodes `values` values of `dtype` at `src` (whole blocks) into `dst` without an importance
    /// vector, converting, encoding and measuring the error in one pass (`wk_encode_blocks32`):
    /// the same bytes as `encode(_:blocks:into:)` on the values converted to f32. Returns nil when
    /// this scheme or dtype has no fused encoder.
    ///
    /// - Throws: the index (from `src`) of the first NaN or ±Inf.
    func encodeFused(
        _ src: UnsafeRawPointer, dtype: DType, values: Int, into dst: UnsafeMutableRawPointer, body: EncoderBody
    ) throws(NonFiniteValue) -> QuantErrorStats? {
        guard let codes = Self.fusedCodes(self, from: dtype) else { return nil }
        var error = wk_qerror()
        let at = unsafe wk_encode_blocks32(body.rawValue, codes.qtype, codes.dtype, src, values / 32, dst, &error)
        guard at == -1 else {
            precondition(at >= 0, "wk_encode_blocks32 refused \(rawValue) from \(dtype.shortName)")
            var value: Float = 0
            // SAFETY: element `at` lies inside the `values` elements at src.
            unsafe ElementConversion.decodeToFloat32(src + at * dtype.blockBytes, from: dtype, into: &value, count: 1)
            throw NonFiniteValue(index: at, value: value)
        }
        var stats = QuantErrorStats()
        stats.count = values
        stats.sumSquaredError = error.sum_squared_error
        stats.sumSquaredReference = error.sum_squared_reference
        stats.sumSquaredQuantized = error.sum_squared_quantized
        stats.dot = error.dot
        stats.maxAbsError = error.max_abs_error
        return stats
    }
}

/// A NaN or ±Inf met while encoding: its index among the values given, and the value.
struct NonFiniteValue: Error {
    let index: Int
    let value: Float
}
