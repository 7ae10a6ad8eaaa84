// ggml's block-quantized layouts, defined once for every layer that touches them: formats
// (GGUF, pack) read and write them, the quantizer encodes them, the runtime computes on them.
// Reference: ggml/src/ggml-common.h (block_q8_0 …) and ggml-quants.c (dequantize_row_*);
// the numpy versions in gguf-py's quants.py give the same floats and are what tests compare to.
// The other K-quants are in QuantBlocks+KQuants.swift, the IQ types in QuantBlocks+IQ.swift,
// q8_1, q1_0, q2_0, the ternary and FP4 types in QuantBlocks+Small.swift; their tables in
// QuantTables.swift (generated).

/// Where each field of one ggml block sits, in bytes from the start of the block.
///
/// All multi-byte fields are little-endian. Scales and mins are IEEE half floats.
public struct QuantBlockLayout: Sendable, Hashable {
    /// The block type.
    public let dtype: DType
    /// Values per block (32, or 256 for the K types).
    public let elements: Int
    /// Bytes per block.
    public let bytes: Int
    /// Offset of the f16 scale `d`.
    public let scaleOffset: Int
    /// Offset of the f16 minimum `m` (`q4_1`, `q5_1`) or `dmin` (`q4_K`), when the type has one.
    public let minOffset: Int?
    /// Offset of the high-bit plane (`q5_*`: a u32 with bit i for element i; `q6_K`: 2 bits per value).
    public let highBitsOffset: Int?
    /// Offset of the sub-block scales (`q4_K`: 12 packed 6-bit scale/min pairs; `q6_K`: 16 int8).
    public let subScalesOffset: Int?
    /// Offset of the quants: int8 values (`q8_0`) or nibbles, low nibbles first half of the block.
    public let quantsOffset: Int
}

/// Block layouts and reference dequantization for ggml's block types.
public enum QuantBlocks {
    /// `block_q8_0`: `d: f16, qs: [32]int8`; x = d·q.
    public static let q8_0 = QuantBlockLayout(
        dtype: .q8_0, elements: 32, bytes: 34, scaleOffset: 0, minOffset: nil, highBitsOffset: nil,
        subScalesOffset: nil, quantsOffset: 2)
    /// `block_q4_0`: `d: f16, qs: [16]u8`; element j (j < 16) is the low nibble of qs[j], element
    /// j+16 its high nibble; x = d·(q − 8).
    public static let q4_0 = QuantBlockLayout(
        dtype: .q4_0, elements: 32, bytes: 18, scaleOffset: 0, minOffset: nil, highBitsOffset: nil,
        subScalesOffset: nil, quantsOffset: 2)
    /// `block_q4_1`: `d: f16, m: f16, qs: [16]u8`, nibbles as in q4_0; x = d·q + m.
    public static let q4_1 = QuantBlockLayout(
        dtype: .q4_1, elements: 32, bytes: 20, scaleOffset: 0, minOffset: 2, highBitsOffset: nil,
        subScalesOffset: nil, quantsOffset: 4)
    /// `block_q5_0`: `d: f16, qh: u32, qs: [16]u8`; q = nibble | (bit i of qh) << 4; x = d·(q − 16).
    public static let q5_0 = QuantBlockLayout(
        dtype: .q5_0, elements: 32, bytes: 22, scaleOffset: 0, minOffset: nil, highBitsOffset: 2,
        subScalesOffset: nil, quantsOffset: 6)
    /// `block_q5_1`: `d: f16, m: f16, qh: u32, qs: [16]u8`; x = d·q + m.
    public static let q5_1 = QuantBlockLayout(
        dtype: .q5_1, elements: 32, bytes: 24, scaleOffset: 0, minOffset: 2, highBitsOffset: 4,
        subScalesOffset: nil, quantsOffset: 8)
    /// `block_q4_K`: `d: f16, dmin: f16, scales: [12]u8, qs: [128]u8`: 8 sub-blocks of 32 with
    /// 6-bit scale and min each; x = d·sc·q − dmin·m.
    public static let q4_K = QuantBlockLayout(
        dtype: .q4_K, elements: 256, bytes: 144, scaleOffset: 0, minOffset: 2, highBitsOffset: nil,
        subScalesOffset: 4, quantsOffset: 16)
    /// `block_q6_K`: `ql: [128]u8, qh: [64]u8, scales: [16]int8, d: f16`: 16 sub-blocks of 16;
    /// x = d·scale·(q − 32).
    public static let q6_K = QuantBlockLayout(
        dtype: .q6_K, elements: 256, bytes: 210, scaleOffset: 208, minOffset: nil, highBitsOffset: 128,
        subScalesOffset: 192, quantsOffset: 0)

    /// The layout of `dtype`, or nil for plain types and for the block types whose fields this
    /// struct cannot describe (the other K, IQ, ternary and FP4 types: see their decoders).
    public static func layout(of dtype: DType) -> QuantBlockLayout? {
        switch dtype {
        case .q8_0: return q8_0
        case .q4_0: return q4_0
        case .q4_1: return q4_1
        case .q5_0: return q5_0
        case .q5_1: return q5_1
        case .q4_K: return q4_K
        case .q6_K: return q6_K
        default: return nil
        }
    }

    /// Bits of storage per weight: `q4_1` is 5.0, `q8_0` 8.5, `f32` 32 (0 for `unknown`).
    public static func bitsPerWeight(_ dtype: DType) -> Double {
        Double(dtype.blockBytes * 8) / Double(dtype.blockElements)
    }

    /// Decodes `count` values of block type `dtype` at `src` into f32 at `dst`.
    ///
    /// Gives the same floats as gguf-py's `quants.dequantize` (same operation order, no FMA).
    /// - Precondition: `dtype.isQuantized`, `count` is a whole number of blocks, `src` holds
    ///   `count / blockElements` blocks and `dst` holds `count` floats (callers check the sizes
    ///   against the file first, so a mismatch is a programmer error).
    public static func dequantize(_ src: UnsafeRawPointer, as dtype: DType, into dst: UnsafeMutablePointer<Float>, count: Int) {
        precondition(dtype.isQuantized && count % dtype.blockElements == 0, "dequantize: \(count) is not whole \(dtype) blocks")
        let blocks = count / dtype.blockElements
        let step = dtype.blockBytes, n = dtype.blockElements
        for b in 0..<blocks {
            // SAFETY: b < blocks, so block b and its n outputs lie inside the caller's buffers.
            let block = unsafe src + b * step
            let out = unsafe dst + b * n
            switch dtype {
            case .q8_0: unsafe decodeQ8_0(block, out)
            case .q4_0, .q4_1: unsafe decodeQ4(block, out, hasMin: dtype == .q4_1)
            case .q5_0, .q5_1: unsafe decodeQ5(block, out, hasMin: dtype == .q5_1)
            case .q4_K: unsafe decodeQ4_K(block, out)
            case .q6_K: unsafe decodeQ6_K(block, out)
            case .q8_1: unsafe decodeQ8_1(block, out)
            case .q2_K: unsafe decodeQ2_K(block, out)
            case .q3_K: unsafe decodeQ3_K(block, out)
            case .q5_K: unsafe decodeQ5_K(block, out)
            case .q8_K: unsafe decodeQ8_K(block, out)
            case .iq2_XXS: unsafe decodeIQ2_XXS(block, out)
            case .iq2_XS: unsafe decodeIQ2_XS(block, out)
            case .iq2_S: unsafe decodeIQ2_S(block, out)
            case .iq3_XXS: unsafe decodeIQ3_XXS(block, out)
            case .iq3_S: unsafe decodeIQ3_S(block, out)
            case .iq1_S: unsafe decodeIQ1_S(block, out)
            case .iq1_M: unsafe decodeIQ1_M(block, out)
            case .iq4_NL: unsafe decodeIQ4_NL(block, out)
            case .iq4_XS: unsafe decodeIQ4_XS(block, out)
            case .tq1_0: unsafe decodeTQ1_0(block, out)
            case .tq2_0: unsafe decodeTQ2_0(block, out)
            case .mxfp4: unsafe decodeMXFP4(block, out)
            case .nvfp4: unsafe decodeNVFP4(block, out)
            case .q1_0: unsafe decodeQ1_0(block, out)
            case .q2_0: unsafe decodeQ2_0(block, out)
            default: preconditionFailure("dequantize of plain dtype \(dtype)")
            }
        }
    }

    /// Decodes whole blocks held in `bytes` (tests and small tensors).
    public static func dequantize(_ bytes: [UInt8], as dtype: DType) -> [Float] {
        let count = bytes.count / dtype.blockBytes * dtype.blockElements
        var out = [Float](repeating: 0, count: count)
        unsafe bytes.withUnsafeBytes { src in
            unsafe out.withUnsafeMutableBufferPointer { dst in
                guard count > 0 else { return }
                // SAFETY: count is derived from bytes.count in whole blocks; dst holds count floats.
                unsafe dequantize(src.baseAddress!, as: dtype, into: dst.baseAddress!, count: count)
            }
        }
        return out
    }

    // MARK: One block each

    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: unsafe p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    @inline(__always)
    static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        unsafe p.load(fromByteOffset: offset, as: UInt8.self)
    }

    static func decodeQ8_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 0)
        for i in 0..<32 {
            unsafe y[i] = Float(Int8(bitPattern: unsafe byte(p, 2 + i))) * d
        }
    }

    static func decodeQ4(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, hasMin: Bool) {
        let d = unsafe half(p, 0)
        if hasMin {
            let m = unsafe half(p, 2)
            for j in 0..<16 {
                let q = unsafe byte(p, 4 + j)
                unsafe y[j] = d * Float(q & 0x0F) + m
                unsafe y[j + 16] = d * Float(q >> 4) + m
            }
        } else {
            for j in 0..<16 {
                let q = unsafe byte(p, 2 + j)
                unsafe y[j] = d * Float(Int(q & 0x0F) - 8)
                unsafe y[j + 16] = d * Float(Int(q >> 4) - 8)
            }
        }
    }

    static func decodeQ5(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>, hasMin: Bool) {
        let d = unsafe half(p, 0)
        let m: Float = hasMin ? unsafe half(p, 2) : 0
        let base = hasMin ? 4 : 2
        let qh = UInt32(littleEndian: unsafe p.loadUnaligned(fromByteOffset: base, as: UInt32.self))
        for j in 0..<16 {
            let q = unsafe byte(p, base + 4 + j)
            let lo = Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
            let hi = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            if hasMin {
                unsafe y[j] = d * Float(lo) + m
                unsafe y[j + 16] = d * Float(hi) + m
            } else {
                unsafe y[j] = d * Float(lo - 16)
                unsafe y[j + 16] = d * Float(hi - 16)
            }
        }
    }

    /// Sub-block `j`'s 6-bit scale and min from q4_K's 12 packed bytes (`get_scale_min_k4`).
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ s: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
        if j < 4 {
            return (unsafe byte(s, j) & 63, unsafe byte(s, j + 4) & 63)
        }
        let scale = (unsafe byte(s, j + 4) & 0x0F) | ((unsafe byte(s, j - 4) >> 6) << 4)
        let min = (unsafe byte(s, j + 4) >> 4) | ((unsafe byte(s, j) >> 6) << 4)
        return (scale, min)
    }

    static func decodeQ4_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 0), dmin = unsafe half(p, 2)
        let scales = unsafe p + 4, qs = unsafe p + 16
        for pair in 0..<4 {
            let (sc1, m1) = unsafe scaleMinK4(2 * pair, scales)
            let (sc2, m2) = unsafe scaleMinK4(2 * pair + 1, scales)
            let d1 = d * Float(sc1), dm1 = dmin * Float(m1)
            let d2 = d * Float(sc2), dm2 = dmin * Float(m2)
            for l in 0..<32 {
                let q = unsafe byte(qs, pair * 32 + l)
                unsafe y[pair * 64 + l] = d1 * Float(q & 0x0F) - dm1
                unsafe y[pair * 64 + 32 + l] = d2 * Float(q >> 4) - dm2
            }
        }
    }

    static func decodeQ6_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 208)
        for part in 0..<2 {
            let ql = unsafe p + part * 64, qh = unsafe p + 128 + part * 32
            let out = unsafe y + part * 128
            for l in 0..<32 {
                let h = unsafe byte(qh, l)
                let a = unsafe byte(ql, l), b = unsafe byte(ql, l + 32)
                let q1 = Int(a & 0x0F) | Int(h & 3) << 4
                let q2 = Int(b & 0x0F) | Int((h >> 2) & 3) << 4
                let q3 = Int(a >> 4) | Int((h >> 4) & 3) << 4
                let q4 = Int(b >> 4) | Int((h >> 6) & 3) << 4
                let sc = unsafe p + 192 + part * 8 + l / 16
                unsafe out[l] = (d * Float(Int8(bitPattern: unsafe byte(sc, 0)))) * Float(q1 - 32)
                unsafe out[l + 32] = (d * Float(Int8(bitPattern: unsafe byte(sc, 2)))) * Float(q2 - 32)
                unsafe out[l + 64] = (d * Float(Int8(bitPattern: unsafe byte(sc, 4)))) * Float(q3 - 32)
                unsafe out[l + 96] = (d * Float(Int8(bitPattern: unsafe byte(sc, 6)))) * Float(q4 - 32)
            }
        }
    }
}
