// ggml's IQ ("importance") layouts (ggml-common.h `block_iq2_xxs` …) and their reference
// decoders: grid points from QuantTables (generated from gguf-py), signs from `ksigns` or sign
// bytes. Each mirrors gguf-py's `dequantize_blocks` in float32 operation by operation: a
// sub-block scale db, then (db·grid)·sign — a sign is a multiplication by ±1, here a negation,
// which gives the same bits, −0 included.

extension QuantBlocks {
    @inline(__always)
    static func u16(_ p: UnsafeRawPointer, _ offset: Int) -> UInt16 {
        UInt16(littleEndian: unsafe p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    static func u32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: unsafe p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// (db·g)·(−1 when bit j of `signs` is set): how every signed IQ value is made.
    @inline(__always)
    static func signed(_ db: Float, _ g: UInt8, _ signs: UInt8, _ j: Int) -> Float {
        let v = db * Float(g)
        return (signs >> UInt8(j)) & 1 == 1 ? -v : v
    }

    /// `block_iq2_xxs` (66 bytes): `d: f16`, then per 32 values two u32: four grid indices (bytes
    /// of the first) and, in the second, four 7-bit sign indices and a 4-bit scale (bits 28…31);
    /// db = (d·(½ + scale))·¼.
    static func decodeIQ2_XXS(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 0)
        let grid = QuantTables.iq2xxsGrid, ksigns = QuantTables.ksigns
        for ib in 0..<8 {
            let aux1 = unsafe u32(p, 2 + 8 * ib + 4)
            let db = d * (0.5 + Float(aux1 >> 28)) * 0.25
            for l in 0..<4 {
                let index = Int(unsafe byte(p, 2 + 8 * ib + l))
                let signs = ksigns[Int((aux1 >> UInt32(7 * l)) & 0x7F)]
                for j in 0..<8 {
                    unsafe y[ib * 32 + l * 8 + j] = signed(db, grid[index * 8 + j], signs, j)
                }
            }
        }
    }

    /// The 16 sub-block scales of `iq2_xs`/`iq2_s` at `offset` (8 bytes of nibbles, low first):
    /// db = (d·(½ + scale))·¼.
    static func iq2Scales(_ p: UnsafeRawPointer, _ offset: Int, _ d: Float) -> [Float] {
        (0..<16).map { k in
            let scale = (unsafe byte(p, offset + k / 2) >> UInt8(4 * (k % 2))) & 0x0F
            return d * (0.5 + Float(scale)) * 0.25
        }
    }

    /// `block_iq2_xs` (74 bytes): `d: f16`, `qs: [32]u16` (9-bit grid index, 7-bit sign index),
    /// `scales: [8]u8` (a 4-bit scale per 16 values).
    static func decodeIQ2_XS(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let db = unsafe iq2Scales(p, 66, unsafe half(p, 0))
        let grid = QuantTables.iq2xsGrid, ksigns = QuantTables.ksigns
        for i in 0..<32 {
            let q = unsafe u16(p, 2 + 2 * i)
            let index = Int(q & 511), signs = ksigns[Int(q >> 9)]
            for j in 0..<8 {
                unsafe y[i * 8 + j] = signed(db[i / 2], grid[index * 8 + j], signs, j)
            }
        }
    }

    /// `block_iq2_s` (82 bytes): `d: f16`, `qs: [32]u8` (grid index low bits), `signs: [32]u8`,
    /// `qh: [8]u8` (2 high index bits per group), `scales: [8]u8`.
    static func decodeIQ2_S(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let db = unsafe iq2Scales(p, 74, unsafe half(p, 0))
        let grid = QuantTables.iq2sGrid
        for i in 0..<32 {
            let high = (unsafe byte(p, 66 + i / 4) >> UInt8(2 * (i % 4))) & 3
            let index = Int(unsafe byte(p, 2 + i)) | Int(high) << 8
            let signs = unsafe byte(p, 34 + i)
            for j in 0..<8 {
                unsafe y[i * 8 + j] = signed(db[i / 2], grid[index * 8 + j], signs, j)
            }
        }
    }

    /// `block_iq3_xxs` (98 bytes): `d: f16`, `qs: [64]u8` (indices into a grid of 4 values), then
    /// per 32 values a u32 of four 7-bit sign indices and a 4-bit scale; db = (d·(½ + scale))·½.
    static func decodeIQ3_XXS(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 0)
        let grid = QuantTables.iq3xxsGrid, ksigns = QuantTables.ksigns
        for ib in 0..<8 {
            let aux = unsafe u32(p, 66 + 4 * ib)
            let db = d * (0.5 + Float(aux >> 28)) * 0.5
            for l in 0..<4 {
                let signs = ksigns[Int((aux >> UInt32(7 * l)) & 0x7F)]
                for j in 0..<8 {
                    let index = Int(unsafe byte(p, 2 + ib * 8 + 2 * l + j / 4))
                    unsafe y[ib * 32 + l * 8 + j] = signed(db, grid[index * 4 + j % 4], signs, j)
                }
            }
        }
    }

    /// `block_iq3_s` (110 bytes): `d: f16`, `qs: [64]u8`, `qh: [8]u8` (ninth index bit),
    /// `signs: [32]u8`, `scales: [4]u8` (a 4-bit scale per 32 values); db = d·(1 + 2·scale).
    static func decodeIQ3_S(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 0)
        let grid = QuantTables.iq3sGrid
        for k in 0..<8 {
            let scale = (unsafe byte(p, 106 + k / 2) >> UInt8(4 * (k % 2))) & 0x0F
            let db = d * Float(1 + 2 * scale)
            for l in 0..<4 {
                let signs = unsafe byte(p, 74 + k * 4 + l)
                for j in 0..<8 {
                    let i = k * 8 + 2 * l + j / 4
                    let index = Int(unsafe byte(p, 2 + i)) | Int((unsafe byte(p, 66 + i / 8) >> UInt8(i % 8)) & 1) << 8
                    unsafe y[k * 32 + l * 8 + j] = signed(db, grid[index * 4 + j % 4], signs, j)
                }
            }
        }
    }

    /// `block_iq1_s` (50 bytes): `d: f16`, `qs: [32]u8` (grid index low bits), `qh: [8]u16` per 32
    /// values: 4 × 3 high index bits, a 3-bit scale (bits 12…14), the delta's sign (bit 15);
    /// x = (d·(2·scale + 1))·(grid ± ⅛).
    static func decodeIQ1_S(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 0)
        let grid = QuantTables.iq1sGrid
        for ib in 0..<8 {
            let qh = unsafe u16(p, 34 + 2 * ib)
            let dl = d * Float(2 * ((qh >> 12) & 7) + 1)
            let delta: Float = qh & 0x8000 == 0 ? 0.125 : -0.125
            for l in 0..<4 {
                let index = Int(unsafe byte(p, 2 + ib * 4 + l)) | Int((qh >> UInt16(3 * l)) & 7) << 8
                for j in 0..<8 {
                    unsafe y[ib * 32 + l * 8 + j] = dl * (Float(Int8(bitPattern: grid[index * 8 + j])) + delta)
                }
            }
        }
    }

    /// `block_iq1_m` (56 bytes): `qs: [32]u8`, `qh: [16]u8` (per 8 values a nibble: 3 high index
    /// bits and the delta's sign), `scales: [4]u16` (3-bit scales per 16 values; the f16 d is
    /// spread over their top nibbles); x = (d·(2·scale + 1))·(grid ± ⅛).
    static func decodeIQ1_M(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let sc = (0..<4).map { unsafe u16(p, 48 + 2 * $0) }
        let dBits = (sc[0] & 0xF000) >> 12 | (sc[1] & 0xF000) >> 8 | (sc[2] & 0xF000) >> 4 | sc[3] & 0xF000
        let d = Float(Float16(bitPattern: dBits))
        let grid = QuantTables.iq1sGrid
        for i in 0..<32 {
            let k = i / 2  // the 16-value sub-block
            let dl = d * Float(2 * ((sc[k / 4] >> UInt16(3 * (k % 4))) & 7) + 1)
            let nibble = (unsafe byte(p, 32 + i / 2) >> UInt8(4 * (i % 2))) & 0x0F
            let index = Int(unsafe byte(p, i)) | Int(nibble & 7) << 8
            let delta: Float = nibble & 8 == 0 ? 0.125 : -0.125
            for j in 0..<8 {
                unsafe y[i * 8 + j] = dl * (Float(Int8(bitPattern: grid[index * 8 + j])) + delta)
            }
        }
    }

    /// `block_iq4_nl` (18 bytes): `d: f16`, `qs: [16]u8`: value l is the low nibble of qs[l], 16 + l
    /// its high nibble, each an index into the non-linear levels; x = d·level.
    static func decodeIQ4_NL(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 0)
        let levels = QuantTables.iq4nlValues
        for l in 0..<16 {
            let q = unsafe byte(p, 2 + l)
            unsafe y[l] = d * Float(Int8(bitPattern: levels[Int(q & 0x0F)]))
            unsafe y[16 + l] = d * Float(Int8(bitPattern: levels[Int(q >> 4)]))
        }
    }

    /// `block_iq4_xs` (136 bytes): `d: f16`, `scales_h: u16`, `scales_l: [4]u8` (a 6-bit scale per
    /// 32 values, offset 32), `qs: [128]u8` (as iq4_nl per 32 values); x = (d·(scale − 32))·level.
    static func decodeIQ4_XS(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = unsafe half(p, 0), scalesHigh = unsafe u16(p, 2)
        let levels = QuantTables.iq4nlValues
        for k in 0..<8 {
            let low = (unsafe byte(p, 4 + k / 2) >> UInt8(4 * (k % 2))) & 0x0F
            let high = UInt8(truncatingIfNeeded: scalesHigh >> UInt16(2 * k)) & 3
            let dl = d * Float(Int(low | high << 4) - 32)
            for l in 0..<16 {
                let q = unsafe byte(p, 8 + k * 16 + l)
                unsafe y[k * 32 + l] = dl * Float(Int8(bitPattern: levels[Int(q & 0x0F)]))
                unsafe y[k * 32 + 16 + l] = dl * Float(Int8(bitPattern: levels[Int(q >> 4)]))
            }
        }
    }
}
