// Branch-free float format conversions on SIMD lanes: IEEE round-to-nearest-even, NaN stays NaN
// (quieted), ±Inf stays ±Inf, subnormals exact. The f16 algorithms are the well-known
// bit-manipulation ones (Maratyszcza's FP16 library): they run on the baseline x86-64 target,
// which has no F16C instructions, and vectorize on SSE/AVX.

/// Float ↔ half ↔ bfloat16 bit conversions, scalar and 8 lanes at a time.
public enum FloatBits {
    /// f32 → f16 bits, 8 lanes, round-to-nearest-even.
    @inlinable @inline(__always)
    public static func halfBits(_ x: SIMD8<Float>) -> SIMD8<UInt16> {
        let w = unsafe unsafeBitCast(x, to: SIMD8<UInt32>.self)
        let shl1 = w &<< 1
        let sign = w & 0x8000_0000
        var bias = shl1 & 0xFF00_0000
        bias.replace(with: 0x7100_0000, where: bias .< 0x7100_0000)
        let magnitude = unsafe unsafeBitCast(w & 0x7FFF_FFFF, to: SIMD8<Float>.self)
        // Scaling by 2^112 then 2^-110 rounds the mantissa at the f16 position in hardware.
        var base = (magnitude * Float(bitPattern: 0x7780_0000)) * Float(bitPattern: 0x0880_0000)
        base += unsafe unsafeBitCast((bias &>> 1) &+ 0x0780_0000, to: SIMD8<Float>.self)
        let b = unsafe unsafeBitCast(base, to: SIMD8<UInt32>.self)
        var nonsign = ((b &>> 13) & 0x7C00) &+ (b & 0x0FFF)
        nonsign.replace(with: 0x7E00, where: shl1 .> 0xFF00_0000)
        return SIMD8<UInt16>(truncatingIfNeeded: (sign &>> 16) | nonsign)
    }

    /// f16 bits → f32, 8 lanes, exact.
    @inlinable @inline(__always)
    public static func float(halfBits h: SIMD8<UInt16>) -> SIMD8<Float> {
        let w = SIMD8<UInt32>(truncatingIfNeeded: h) &<< 16
        let sign = w & 0x8000_0000
        let twoW = w &+ w
        let normalized = unsafe unsafeBitCast((twoW &>> 4) &+ (0xE0 << 23), to: SIMD8<Float>.self) * Float(bitPattern: 0x0780_0000)
        let denormalized = unsafe unsafeBitCast((twoW &>> 17) | (126 << 23), to: SIMD8<Float>.self) - 0.5
        var bits = unsafe unsafeBitCast(normalized, to: SIMD8<UInt32>.self)
        bits.replace(with: unsafe unsafeBitCast(denormalized, to: SIMD8<UInt32>.self), where: twoW .< (1 << 27))
        return unsafe unsafeBitCast(sign | bits, to: SIMD8<Float>.self)
    }

    /// f32 → bf16 bits, 8 lanes, round-to-nearest-even; NaN quieted.
    @inlinable @inline(__always)
    public static func bfloatBits(_ x: SIMD8<Float>) -> SIMD8<UInt16> {
        let w = unsafe unsafeBitCast(x, to: SIMD8<UInt32>.self)
        var rounded = (w &+ 0x7FFF &+ ((w &>> 16) & 1)) &>> 16
        rounded.replace(with: (w &>> 16) | 0x40, where: (w & 0x7FFF_FFFF) .> 0x7F80_0000)
        return SIMD8<UInt16>(truncatingIfNeeded: rounded)
    }

    /// bf16 bits → f32, 8 lanes, exact.
    @inlinable @inline(__always)
    public static func float(bfloatBits b: SIMD8<UInt16>) -> SIMD8<Float> {
        unsafe unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: b) &<< 16, to: SIMD8<Float>.self)
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
