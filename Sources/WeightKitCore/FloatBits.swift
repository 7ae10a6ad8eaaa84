// Branch-free float format conversions on SIMD lanes: IEEE round-to-nearest-even, NaN stays NaN
// (quieted), ±Inf stays ±Inf, subnormals exact. The f16 algorithms are the well-known
// bit-manipulation ones (Maratyszcza's FP16 library): they run on the baseline x86-64 target,
// which has no F16C instructions, and vectorize on SSE/AVX.

/// Float ↔ half ↔ bfloat16 bit conversions, scalar and 8 lanes at a time.
public enum FloatBits {
    // Selections are written as bit masks (`m = (x - c) >> 31` on Int32 lanes is all-ones where
    // x < c) rather than `replacing(with:where:)`, and narrowing/widening lane by lane: on the
    // baseline x86-64 target the stdlib's generic mask and conversion paths go through memory
    // lane by lane, while these compile to straight SSE code (measured on the 1 GB f32 → f16
    // convert: 4.8 s before, 0.59 s after; see docs/BENCHMARKS.md).

    /// All-ones lanes where `x < c` (both non-negative as Int32), zero elsewhere.
    @inlinable @inline(__always)
    static func lessMask(_ x: SIMD8<Int32>, _ c: Int32) -> SIMD8<Int32> { (x &- c) &>> 31 }

    /// Narrows lanes known to fit in 16 bits.
    @inlinable @inline(__always)
    static func narrow(_ v: SIMD8<UInt32>) -> SIMD8<UInt16> {
        SIMD8<UInt16>(
            UInt16(truncatingIfNeeded: v[0]), UInt16(truncatingIfNeeded: v[1]), UInt16(truncatingIfNeeded: v[2]),
            UInt16(truncatingIfNeeded: v[3]), UInt16(truncatingIfNeeded: v[4]), UInt16(truncatingIfNeeded: v[5]),
            UInt16(truncatingIfNeeded: v[6]), UInt16(truncatingIfNeeded: v[7]))
    }

    /// Widens 16-bit lanes.
    @inlinable @inline(__always)
    static func widen(_ v: SIMD8<UInt16>) -> SIMD8<UInt32> {
        SIMD8<UInt32>(
            UInt32(v[0]), UInt32(v[1]), UInt32(v[2]), UInt32(v[3]),
            UInt32(v[4]), UInt32(v[5]), UInt32(v[6]), UInt32(v[7]))
    }

    @inlinable @inline(__always)
    static func bits(_ x: SIMD8<Float>) -> SIMD8<UInt32> { unsafe unsafeBitCast(x, to: SIMD8<UInt32>.self) }

    @inlinable @inline(__always)
    static func floats(_ x: SIMD8<UInt32>) -> SIMD8<Float> { unsafe unsafeBitCast(x, to: SIMD8<Float>.self) }

    @inlinable @inline(__always)
    static func signed(_ x: SIMD8<UInt32>) -> SIMD8<Int32> { unsafe unsafeBitCast(x, to: SIMD8<Int32>.self) }

    @inlinable @inline(__always)
    static func unsigned(_ x: SIMD8<Int32>) -> SIMD8<UInt32> { unsafe unsafeBitCast(x, to: SIMD8<UInt32>.self) }

    /// f32 → f16 bits, 8 lanes, round-to-nearest-even.
    @inlinable @inline(__always)
    public static func halfBits(_ x: SIMD8<Float>) -> SIMD8<UInt16> {
        let w = bits(x)
        let sign = w & 0x8000_0000
        let magnitudeBits = w & 0x7FFF_FFFF
        // bias = max(exponent, 113) << 23, as in the reference's `bias < 0x71000000` test.
        let exponent = signed(magnitudeBits &>> 23)
        let small = lessMask(exponent, 0x71)
        let biasExponent = (exponent & ~small) | (SIMD8<Int32>(repeating: 0x71) & small)
        let bias = unsigned(biasExponent) &<< 23
        // Scaling by 2^112 then 2^-110 rounds the mantissa at the f16 position in hardware.
        var base = (floats(magnitudeBits) * Float(bitPattern: 0x7780_0000)) * Float(bitPattern: 0x0880_0000)
        base += floats(bias &+ 0x0780_0000)
        let b = bits(base)
        let nonsign = ((b &>> 13) & 0x7C00) &+ (b & 0x0FFF)
        let isNaN = unsigned(~lessMask(signed(magnitudeBits), 0x7F80_0001))
        let half = (nonsign & ~isNaN) | (0x7E00 & isNaN)
        return narrow((sign &>> 16) | half)
    }

    /// f16 bits → f32, 8 lanes, exact.
    @inlinable @inline(__always)
    public static func float(halfBits h: SIMD8<UInt16>) -> SIMD8<Float> {
        let w = widen(h) &<< 16
        let sign = w & 0x8000_0000
        let twoW = w &+ w
        let normalized = bits(floats((twoW &>> 4) &+ (0xE0 << 23)) * Float(bitPattern: 0x0780_0000))
        let denormalized = bits(floats((twoW &>> 17) | (126 << 23)) - 0.5)
        let isSubnormal = unsigned(lessMask(signed(twoW &>> 27), 1))
        return floats(sign | (denormalized & isSubnormal) | (normalized & ~isSubnormal))
    }

    /// f32 → bf16 bits, 8 lanes, round-to-nearest-even; NaN quieted.
    @inlinable @inline(__always)
    public static func bfloatBits(_ x: SIMD8<Float>) -> SIMD8<UInt16> {
        let w = bits(x)
        let rounded = (w &+ 0x7FFF &+ ((w &>> 16) & 1)) &>> 16
        let isNaN = unsigned(~lessMask(signed(w & 0x7FFF_FFFF), 0x7F80_0001))
        return narrow((rounded & ~isNaN) | (((w &>> 16) | 0x40) & isNaN))
    }

    /// bf16 bits → f32, 8 lanes, exact.
    @inlinable @inline(__always)
    public static func float(bfloatBits b: SIMD8<UInt16>) -> SIMD8<Float> {
        floats(widen(b) &<< 16)
    }

    /// f32 → f16 bits, one value.
    @inlinable
    public static func halfBits(_ x: Float) -> UInt16 { halfBits(SIMD8(repeating: x))[0] }

    /// f16 bits → f32, one value.
    @inlinable
    public static func float(halfBits h: UInt16) -> Float { float(halfBits: SIMD8(repeating: h))[0] }

    /// f32 → bf16 bits, one value.
    @inlinable
    public static func bfloatBits(_ x: Float) -> UInt16 { bfloatBits(SIMD8(repeating: x))[0] }

    /// bf16 bits → f32, one value.
    @inlinable
    public static func float(bfloatBits b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// FP8 E4M3 (the "fn" variant of the OCP spec: bias 7, no infinities, S.1111.111 is NaN) → f32.
    public static let e4m3Table: [Float] = (0..<256).map { i in
        let sign: Float = i & 0x80 != 0 ? -1 : 1
        let exponent = (i >> 3) & 0xF
        let mantissa = i & 0x7
        if exponent == 0xF && mantissa == 0x7 { return .nan }
        if exponent == 0 { return sign * Float(mantissa) / 8 * Float(sign: .plus, exponent: -6, significand: 1) }
        return sign * (1 + Float(mantissa) / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
    }

    /// FP8 E5M2 (bias 15, with infinities and NaNs: the top byte of an f16) → f32.
    public static let e5m2Table: [Float] = (0..<256).map { i in float(halfBits: UInt16(i) << 8) }
}
