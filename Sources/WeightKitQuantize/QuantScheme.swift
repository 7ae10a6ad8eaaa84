import CWeightKitKernels
import WeightKitCore

// Block encoders for the ggml types WeightKit writes, byte-identical to what llama-quantize
// writes for the same rows. Q8_0, Q4_0 and Q4_1 without an importance vector are encoded here in
// Swift, byte-identical to gguf-py's numpy reference (`gguf.quants.quantize`, itself bit-exact
// with ggml-quants.c's `quantize_row_*_ref`): every step is one IEEE f32 operation in the
// reference's order (no fused multiply-add), scales are rounded to f16 to nearest-even, and
// float → integer casts behave as numpy's on x86-64: NaN, ±Inf and out-of-range values become 0
// (the low byte of cvttss2si's 0x80000000), in-range values truncate toward zero and keep their
// low 8 bits. Everything else (Q5_0, Q5_1, IQ4_NL, IQ4_XS, Q2_K … Q6_K, and Q4_0/Q4_1 with importance)
// calls ggml's own quantizers, ported to C in CWeightKitKernels' kquant_encode.c
// (`wk_quantize_rows`). Decoding reuses Core's `QuantBlocks`.

/// How a tensor is block-quantized: one of the ggml types WeightKit writes.
public enum QuantScheme: String, CaseIterable, Sendable, Hashable {
    /// `d = max|x| / 127`, `q = round-half-away(x / d)`; 8.5 bits per weight.
    case q8_0
    /// `d = x[argmax|x|] / −8`, `q = min(15, trunc(x / d + 8.5))`; 4.5 bits per weight.
    case q4_0
    /// `d = (max − min) / 15`, `m = min`, `q = min(15, trunc((x − m) / d + 0.5))`; 5 bits per weight.
    case q4_1
    /// Q4_0 with a fifth bit: `d = x[argmax|x|] / −16`; 5.5 bits per weight.
    case q5_0
    /// Q4_1 with a fifth bit: `d = (max − min) / 31`; 6 bits per weight.
    case q5_1
    /// 4-bit indices into ggml's 16 non-linear values, one f16 scale per 32; 4.5 bits per weight.
    case iq4_nl
    /// IQ4_NL's values in super-blocks of 256: one f16 scale, a 6-bit scale per 32; 4.25 bits per
    /// weight. Rows that are not whole super-blocks fall back to IQ4_NL, as in llama-quantize.
    case iq4_xs
    /// Super-blocks of 256: 16 sub-blocks of 2-bit values with 4-bit scales and mins; 2.625 bits per weight.
    case q2_k
    /// Super-blocks of 256: 16 sub-blocks of 3-bit values with 6-bit scales; 3.4375 bits per weight.
    case q3_k
    /// Super-blocks of 256: 8 sub-blocks of 4-bit values with 6-bit scales and mins; 4.5 bits per weight.
    case q4_k
    /// Super-blocks of 256: 8 sub-blocks of 5-bit values with 6-bit scales and mins; 5.5 bits per weight.
    case q5_k
    /// Super-blocks of 256: 16 sub-blocks of 6-bit values with 8-bit scales; 6.5625 bits per weight.
    case q6_k

    /// The block dtype this scheme writes.
    public var dtype: DType {
        switch self {
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .iq4_nl: return .iq4_NL
        case .iq4_xs: return .iq4_XS
        case .q2_k: return .q2_K
        case .q3_k: return .q3_K
        case .q4_k: return .q4_K
        case .q5_k: return .q5_K
        case .q6_k: return .q6_K
        }
    }

    /// The scheme writing `dtype`, or nil for types WeightKit does not encode.
    public init?(dtype: DType) {
        guard let scheme = Self.allCases.first(where: { $0.dtype == dtype }) else { return nil }
        self = scheme
    }

    /// Values per block of the 32-value schemes (Q8_0 … Q5_1, IQ4_NL).
    @available(*, deprecated, message: "blocks are per scheme (256 values for the K types): use `blockElements` of the scheme")
    public static let blockElements = 32

    /// Values per block: 256 for the K types and IQ4_XS, 32 for the others. Rows are whole blocks.
    public var blockElements: Int { dtype.blockElements }

    /// Whether an importance vector changes this scheme's bytes (every scheme but Q8_0, which
    /// ggml quantizes the same way with or without one).
    public var usesImportance: Bool { self != .q8_0 }

    /// Encodes `blocks` blocks of `blockElements` floats at `src` into `blocks × dtype.blockBytes`
    /// bytes at `dst`, without an importance vector.
    ///
    /// The values must be finite: this is the unchecked block path (NaN and ±Inf give
    /// meaningless blocks). `encode(rows:count:columns:importance:into:)` checks and refuses them.
    public func encode(_ src: UnsafePointer<Float>, blocks: Int, into dst: UnsafeMutableRawPointer) {
        switch self {
        case .q8_0, .q4_0, .q4_1:
            let step = dtype.blockBytes
            for b in 0..<blocks {
                // SAFETY: b < blocks; the caller gives `blocks` whole blocks on both sides.
                let x = unsafe src + b * 32, out = unsafe dst + b * step
                switch self {
                case .q8_0: unsafe Self.encodeQ8_0(x, out)
                case .q4_0: unsafe Self.encodeQ4_0(x, out)
                default: unsafe Self.encodeQ4_1(x, out)
                }
            }
        default:
            // Without importance every block is quantized on its own, so `blocks` one-block rows
            // give the bytes of any row split.
            guard blocks > 0 else { return }
            // SAFETY: src holds blocks × blockElements floats and dst blocks × blockBytes bytes.
            let written = unsafe wk_quantize_rows(kernelType, src, dst, blocks, blockElements, nil)
            precondition(written == blocks * dtype.blockBytes, "wk_quantize_rows wrote \(written) bytes for \(blocks) \(rawValue) blocks")
        }
    }

    /// Encodes `values` (a whole number of blocks) into block bytes, without an importance vector.
    ///
    /// - Precondition: `values.count` is a multiple of `blockElements`; the values are finite
    ///   (see `encode(_:blocks:into:)`; `encode(_:columns:importance:)` checks).
    public func encode(_ values: [Float]) -> [UInt8] {
        precondition(values.count % blockElements == 0, "encode: \(values.count) values is not whole blocks of \(blockElements)")
        let blocks = values.count / blockElements
        var out = [UInt8](repeating: 0, count: blocks * dtype.blockBytes)
        unsafe values.withUnsafeBufferPointer { src in
            unsafe out.withUnsafeMutableBytes { dst in
                guard blocks > 0 else { return }
                // SAFETY: src holds blocks*blockElements floats and dst blocks*blockBytes bytes.
                unsafe encode(src.baseAddress!, blocks: blocks, into: dst.baseAddress!)
            }
        }
        return out
    }

    /// Decodes block bytes back to floats (Core's reference dequantizer).
    public func decode(_ bytes: [UInt8]) -> [Float] {
        QuantBlocks.dequantize(bytes, as: dtype)
    }

    // MARK: One block each

    /// numpy's float32 → integer cast on x86-64, low 8 bits kept.
    @inline(__always)
    static func castByte(_ v: Float) -> UInt8 {
        guard v.isFinite, v > -2147483648.0, v < 2147483648.0 else { return 0 }
        return UInt8(truncatingIfNeeded: Int32(v))
    }

    @inline(__always)
    static func storeHalf(_ v: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        unsafe p.storeBytes(of: Float16(v).bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self)
    }

    /// gguf-py `Q8_0.quantize_blocks`: `np_roundf` rounds half away from zero.
    @inline(__always)
    static func encodeQ8_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for i in 0..<32 { amax = Swift.max(amax, unsafe x[i].magnitude) }
        let d = amax / 127
        let id: Float = d == 0 ? 0 : 1 / d
        unsafe storeHalf(d, out, 0)
        for i in 0..<32 {
            let v = unsafe x[i] * id
            // np_roundf: floor(|v|) + floor(2·(|v| − floor(|v|))), sign restored: half away from zero.
            let a = v.magnitude
            var q: Int32 = 0
            if a < 2147483648.0 {  // false for NaN and ±Inf, which numpy casts to 0
                q = Int32(a)
                if a - Float(q) >= 0.5 { q &+= 1 }
                if v < 0 { q = 0 &- q }
            }
            unsafe out.storeBytes(of: UInt8(truncatingIfNeeded: q), toByteOffset: 2 + i, as: UInt8.self)
        }
    }

    /// gguf-py `Q4_0.quantize_blocks`: the signed value of largest magnitude (first on ties) sets d.
    @inline(__always)
    static func encodeQ4_0(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var amax: Float = 0, maxValue: Float = 0
        for i in 0..<32 {
            let a = unsafe x[i].magnitude
            if a > amax { amax = a; maxValue = unsafe x[i] }
        }
        let d = maxValue / -8
        let id: Float = d == 0 ? 0 : 1 / d
        unsafe storeHalf(d, out, 0)
        for j in 0..<16 {
            let lo = Swift.min(15, castByte((unsafe x[j] * id + 8.5).rounded(.towardZero)))
            let hi = Swift.min(15, castByte((unsafe x[j + 16] * id + 8.5).rounded(.towardZero)))
            unsafe out.storeBytes(of: lo | hi << 4, toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    /// gguf-py `Q4_1.quantize_blocks`.
    @inline(__always)
    static func encodeQ4_1(_ x: UnsafePointer<Float>, _ out: UnsafeMutableRawPointer) {
        var lo = unsafe x[0], hi = unsafe x[0]
        for i in 1..<32 {
            lo = Swift.min(lo, unsafe x[i])
            hi = Swift.max(hi, unsafe x[i])
        }
        let d = (hi - lo) / 15
        let id: Float = d == 0 ? 0 : 1 / d
        unsafe storeHalf(d, out, 0)
        unsafe storeHalf(lo, out, 2)
        for j in 0..<16 {
            let a = Swift.min(15, castByte(((unsafe x[j] - lo) * id + 0.5).rounded(.towardZero)))
            let b = Swift.min(15, castByte(((unsafe x[j + 16] - lo) * id + 0.5).rounded(.towardZero)))
            unsafe out.storeBytes(of: a | b << 4, toByteOffset: 4 + j, as: UInt8.self)
        }
    }
}
