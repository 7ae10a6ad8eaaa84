// The K-quant layouts beyond q4_K/q6_K (ggml-common.h `block_q2_K` …) and their reference
// decoders. Each mirrors gguf-py's `dequantize_blocks` for the type operation by operation
// (float32, same grouping, no FMA), so the floats are the ones gguf.quants.dequantize gives.

extension QuantBlocks {
    /// `block_q2_K` (84 bytes): `scales: [16]u8` (low nibble scale, high nibble min of each
    /// 16-value sub-block), `qs: [64]u8` (2-bit quants), `d: f16`, `dmin: f16`;
    /// x = (d·scale)·q − dmin·min. Value 128h + 32s + l is bits 2s of qs[32h + l].
    static func decodeQ2_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 80), dmin = unsafe half(p, 82)
        for h in 0..<2 {
            for s in 0..<4 {
                for l in 0..<32 {
                    let i = h * 128 + s * 32 + l
                    let sc = unsafe byte(p, i / 16)
                    let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                    let q = (unsafe byte(p, 16 + h * 32 + l) >> UInt8(2 * s)) & 3
                    unsafe y[i] = dl * Float(q) - ml
                }
            }
        }
    }

    /// `block_q3_K` (110 bytes): `hmask: [32]u8`, `qs: [64]u8` (low 2 bits), `scales: [12]u8`
    /// (16 packed 6-bit scales, offset 32), `d: f16`; x = (d·(scale − 32))·(q − 4·(1 − hbit)).
    static func decodeQ3_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 108)
        var dl = [Float](repeating: 0, count: 16)
        for k in 0..<16 {
            let low = (unsafe byte(p, 96 + k % 8) >> UInt8(4 * (k / 8))) & 0x0F
            let high = (unsafe byte(p, 104 + k % 4) >> UInt8(2 * (k / 4))) & 0x03
            dl[k] = d * Float(Int(low | high << 4) - 32)
        }
        for i in 0..<256 {
            let (h, s, l) = (i / 128, (i % 128) / 32, i % 32)
            let low = (unsafe byte(p, 32 + h * 32 + l) >> UInt8(2 * s)) & 3
            let hbit = ((unsafe byte(p, l) >> UInt8(i / 32)) & 1) ^ 1
            unsafe y[i] = dl[i / 16] * Float(Int(low) - Int(hbit << 2))
        }
    }

    /// `block_q5_K` (176 bytes): `d: f16`, `dmin: f16`, `scales: [12]u8` (as q4_K), `qh: [32]u8`
    /// (bit j of qh[l]: fifth bit of value 32j + l), `qs: [128]u8`; x = (d·sc)·q − dmin·m.
    static func decodeQ5_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 0), dmin = unsafe half(p, 2)
        let scales = unsafe p + 4
        for j in 0..<8 {
            let (sc, m) = unsafe scaleMinK4(j, scales)
            let dj = d * Float(sc), dm = dmin * Float(m)
            for l in 0..<32 {
                let low = (unsafe byte(p, 48 + (j / 2) * 32 + l) >> UInt8(4 * (j % 2))) & 0x0F
                let high = (unsafe byte(p, 16 + l) >> UInt8(j)) & 1
                unsafe y[j * 32 + l] = dj * Float(low | high << 4) - dm
            }
        }
    }

    /// `block_q8_K` (292 bytes): `d: f32`, `qs: [256]int8`, `bsums: [16]i16` (unused here);
    /// x = d·q (ggml's `dequantize_row_q8_K`; gguf-py has no decoder for it).
    static func decodeQ8_K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = Float(bitPattern: UInt32(littleEndian: unsafe p.loadUnaligned(as: UInt32.self)))
        for i in 0..<256 {
            unsafe y[i] = d * Float(Int8(bitPattern: unsafe byte(p, 4 + i)))
        }
    }
}
