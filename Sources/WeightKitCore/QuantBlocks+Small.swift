// Block types outside the K and IQ families: q8_1, q1_0, q2_0, the ternary tq1_0/tq2_0 and the FP4
// types mxfp4/nvfp4. Where gguf-py has a decoder (TQ1_0, TQ2_0, MXFP4, NVFP4) each mirrors its
// `dequantize_blocks` in float32 operation by operation; q8_1, q1_0 and q2_0 follow ggml-quants.c.

extension QuantBlocks {
    /// `block_q8_1` (36 bytes): `d: f16`, `s: f16` (d·Σq, unused here), `qs: [32]int8`; x = d·q.
    /// ggml has no decoder for it (an activation format); this is the meaning of its fields.
    static func decodeQ8_1(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 0)
        for i in 0..<32 {
            unsafe y[i] = d * Float(Int8(bitPattern: unsafe byte(p, 4 + i)))
        }
    }

    /// `block_q1_0` (18 bytes): `d: f16`, `qs: [16]u8`; value j is +d when bit j is set, else −d
    /// (ggml's `dequantize_row_q1_0`; gguf-py has no decoder for it).
    static func decodeQ1_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 0)
        for j in 0..<128 {
            unsafe y[j] = (unsafe byte(p, 2 + j / 8) >> UInt8(j % 8)) & 1 == 1 ? d : -d
        }
    }

    /// `block_q2_0` (18 bytes): `d: f16`, `qs: [16]u8`; value j is (q − 1)·d for the two bits q at
    /// bit 2·(j % 4) of byte j / 4: codes 0, 1, 2, 3 mean −1, 0, +1, +2 (ggml's
    /// `dequantize_row_q2_0`; gguf-py has no decoder for it).
    static func decodeQ2_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 0)
        for j in 0..<64 {
            let q = (unsafe byte(p, 2 + j / 4) >> UInt8(2 * (j % 4))) & 3
            unsafe y[j] = Float(Int(q) - 1) * d
        }
    }

    /// `block_tq1_0` (54 bytes): `qs: [48]u8` (5 trits per byte), `qh: [4]u8` (4 trits per byte),
    /// `d: f16`. Trit n of byte b is ((u8(b·3ⁿ))·3) >> 8; x = d·(trit − 1). Values 0…159 come
    /// from qs[0..<32] (value 32n + l from byte l), 160…239 from qs[32..<48], 240…255 from qh.
    static func decodeTQ1_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 52)
        let pow3: [UInt8] = [1, 3, 9, 27, 81]
        func trit(_ byte: UInt8, _ n: Int) -> Float {
            let q = byte &* pow3[n]
            return Float(Int((UInt16(q) * 3) >> 8) - 1)
        }
        for n in 0..<5 {
            for l in 0..<32 { unsafe y[n * 32 + l] = d * trit(unsafe byte(p, l), n) }
            for l in 0..<16 { unsafe y[160 + n * 16 + l] = d * trit(unsafe byte(p, 32 + l), n) }
        }
        for n in 0..<4 {
            for l in 0..<4 { unsafe y[240 + n * 4 + l] = d * trit(unsafe byte(p, 48 + l), n) }
        }
    }

    /// `block_tq2_0` (66 bytes): `qs: [64]u8` (2-bit trits), `d: f16`; value 128h + 32s + l is
    /// bits 2s of qs[32h + l]; x = d·(q − 1).
    static func decodeTQ2_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 64)
        for i in 0..<256 {
            let (h, s, l) = (i / 128, (i % 128) / 32, i % 32)
            let q = (unsafe byte(p, h * 32 + l) >> UInt8(2 * s)) & 3
            unsafe y[i] = d * Float(Int(q) - 1)
        }
    }

    /// `block_mxfp4` (17 bytes): `e: u8` (e8m0 exponent), `qs: [16]u8`: value l is the low nibble
    /// of qs[l], value 16 + l its high nibble, each an index into the doubled e2m1 table;
    /// x = ½·2^(e−127)·kvalue (ggml's `ggml_e8m0_to_fp32_half`).
    static func decodeMXFP4(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let e = UInt32(unsafe byte(p, 0))
        let d = Float(bitPattern: e < 2 ? UInt32(0x0020_0000) << e : (e - 1) << 23)
        let table = QuantTables.mxfp4Values
        for l in 0..<16 {
            let q = unsafe byte(p, 1 + l)
            unsafe y[l] = d * Float(Int8(bitPattern: table[Int(q & 0x0F)]))
            unsafe y[16 + l] = d * Float(Int8(bitPattern: table[Int(q >> 4)]))
        }
    }

    /// `block_nvfp4` (36 bytes): `d: [4]u8` (unsigned e4m3 scales of 16-value sub-blocks), `qs:
    /// [32]u8`: sub-block s takes qs[8s..<8s+8], low nibbles first; x = ½·ue4m3(d[s])·kvalue.
    static func decodeNVFP4(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let table = QuantTables.mxfp4Values
        for s in 0..<4 {
            let d = ue4m3Half(unsafe byte(p, s))
            for l in 0..<8 {
                let q = unsafe byte(p, 4 + s * 8 + l)
                unsafe y[s * 16 + l] = d * Float(Int8(bitPattern: table[Int(q & 0x0F)]))
                unsafe y[s * 16 + 8 + l] = d * Float(Int8(bitPattern: table[Int(q >> 4)]))
            }
        }
    }

    /// Half the value of an unsigned e4m3 byte (bias 7, bit 7 ignored; 0 and 0x7F give 0), as
    /// gguf-py's `NVFP4.ue4m3_to_fp32`. Every step is exact in float32.
    static func ue4m3Half(_ x: UInt8) -> Float {
        guard x != 0, x != 0x7F else { return 0 }
        let exponent = Int((x >> 3) & 0x0F), mantissa = Float(x & 7)
        let raw = exponent == 0
            ? mantissa * 0x1p-9
            : (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        return raw * 0.5
    }
}
