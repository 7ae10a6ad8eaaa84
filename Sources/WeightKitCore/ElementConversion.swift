/// Converts runs of tensor elements between dtypes.
///
/// Floating types (f8, f16, bf16, f32, f64) convert to f16, bf16, f32 and f64 with one
/// round-to-nearest-even step (f64 → bf16 goes through f32, as torch does). Other dtypes copy
/// only to themselves. Source and destination may be unaligned.
public enum ElementConversion {
    /// True when `convert` handles `from` → `to`.
    public static func canConvert(from: DType, to: DType) -> Bool {
        if from == to { return true }
        let targets: Set<DType> = [.float16, .bfloat16, .float32, .float64]
        return from.isFloatingPoint && targets.contains(to)
    }

    /// Elements per chunk when converting through an f32 staging buffer (fits in L1/L2).
    static let chunk = 4096

    /// Converts `count` elements at `src` (dtype `from`) into `dst` (dtype `to`).
    ///
    /// - Precondition: `canConvert(from:to:)`, and both buffers hold `count` elements.
    public static func convert(
        _ src: UnsafeRawPointer, from: DType, to: DType, into dst: UnsafeMutableRawPointer, count: Int
    ) {
        precondition(canConvert(from: from, to: to), "unsupported conversion \(from) → \(to)")
        if from == to {
            // SAFETY: caller guarantees both buffers hold count elements of this dtype.
            unsafe dst.copyMemory(from: src, byteCount: count * from.blockBytes)
            return
        }
        switch (from, to) {
        case (.float32, .float16): unsafe f32ToF16(src, dst, count)
        case (.float16, .float32): unsafe f16ToF32(src, dst, count)
        case (.float32, .bfloat16): unsafe f32ToBF16(src, dst, count)
        case (.bfloat16, .float32): unsafe bf16ToF32(src, dst, count)
        case (.float64, .float16):
            for i in 0..<count {
                let d = unsafe src.loadUnaligned(fromByteOffset: i * 8, as: Double.self)
                unsafe dst.storeBytes(of: Float16(d).bitPattern, toByteOffset: i * 2, as: UInt16.self)
            }
        default:
            // Through f32 in chunks: decode is exact for every source but f64, and f64 → f32
            // → target rounds the way torch does.
            var staging = [Float](repeating: 0, count: chunk)
            var done = 0
            while done < count {
                let n = min(chunk, count - done)
                unsafe staging.withUnsafeMutableBytes { stage in
                    let s = unsafe src + done * from.blockBytes
                    unsafe decodeToFloat32(s, from: from, into: stage.baseAddress!, count: n)
                    unsafe encodeFromFloat32(stage.baseAddress!, to: to, into: dst + done * to.blockBytes, count: n)
                }
                done += n
            }
        }
    }

    /// Decodes `count` floating elements to f32 (f64 rounds; everything else is exact).
    public static func decodeToFloat32(_ src: UnsafeRawPointer, from: DType, into dst: UnsafeMutableRawPointer, count: Int) {
        switch from {
        case .float32: unsafe dst.copyMemory(from: src, byteCount: count * 4)
        case .float16: unsafe f16ToF32(src, dst, count)
        case .bfloat16: unsafe bf16ToF32(src, dst, count)
        case .float64:
            for i in 0..<count {
                let d = unsafe src.loadUnaligned(fromByteOffset: i * 8, as: Double.self)
                unsafe dst.storeBytes(of: Float(d), toByteOffset: i * 4, as: Float.self)
            }
        case .float8E4M3, .float8E5M2:
            let table = from == .float8E4M3 ? FloatBits.e4m3Table : FloatBits.e5m2Table
            for i in 0..<count {
                let byte = unsafe src.load(fromByteOffset: i, as: UInt8.self)
                unsafe dst.storeBytes(of: table[Int(byte)], toByteOffset: i * 4, as: Float.self)
            }
        default:
            preconditionFailure("decodeToFloat32 of non-floating dtype \(from)")
        }
    }

    /// Encodes `count` f32 values as `to` (f16, bf16, f32 or f64).
    public static func encodeFromFloat32(_ src: UnsafeRawPointer, to: DType, into dst: UnsafeMutableRawPointer, count: Int) {
        switch to {
        case .float32: unsafe dst.copyMemory(from: src, byteCount: count * 4)
        case .float16: unsafe f32ToF16(src, dst, count)
        case .bfloat16: unsafe f32ToBF16(src, dst, count)
        case .float64:
            for i in 0..<count {
                let f = unsafe src.loadUnaligned(fromByteOffset: i * 4, as: Float.self)
                unsafe dst.storeBytes(of: Double(f), toByteOffset: i * 8, as: Double.self)
            }
        default:
            preconditionFailure("encodeFromFloat32 to dtype \(to)")
        }
    }

    // MARK: SIMD loops (8 lanes; the tail one element at a time)

    static func f32ToF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, _ count: Int) {
        unsafe lanes(src, dst, count, { FloatBits.halfBits($0) }, { FloatBits.halfBits($0) })
    }

    static func f16ToF32(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, _ count: Int) {
        unsafe lanes(src, dst, count, { FloatBits.float(halfBits: $0) }, { FloatBits.float(halfBits: $0) })
    }

    static func f32ToBF16(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, _ count: Int) {
        unsafe lanes(src, dst, count, { FloatBits.bfloatBits($0) }, { FloatBits.bfloatBits($0) })
    }

    static func bf16ToF32(_ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, _ count: Int) {
        unsafe lanes(src, dst, count, { FloatBits.float(bfloatBits: $0) }, { FloatBits.float(bfloatBits: $0) })
    }

    /// `count` elements of `In` from `src` converted to `Out` at `dst`: 8 at a time through
    /// `vector`, the tail one at a time through `scalar` (the same rounding, lane by lane).
    /// Always inlined, so each caller is specialized to its types with no closure calls left.
    @inline(__always)
    static func lanes<In: SIMDScalar & BitwiseCopyable, Out: SIMDScalar & BitwiseCopyable>(
        _ src: UnsafeRawPointer, _ dst: UnsafeMutableRawPointer, _ count: Int,
        _ vector: (SIMD8<In>) -> SIMD8<Out>, _ scalar: (In) -> Out
    ) {
        let inWidth = MemoryLayout<In>.size, outWidth = MemoryLayout<Out>.size
        var i = 0
        while i + 8 <= count {
            let v = unsafe src.loadUnaligned(fromByteOffset: i * inWidth, as: SIMD8<In>.self)
            unsafe dst.storeBytes(of: vector(v), toByteOffset: i * outWidth, as: SIMD8<Out>.self)
            i += 8
        }
        while i < count {
            let x = unsafe src.loadUnaligned(fromByteOffset: i * inWidth, as: In.self)
            unsafe dst.storeBytes(of: scalar(x), toByteOffset: i * outWidth, as: Out.self)
            i += 1
        }
    }
}
