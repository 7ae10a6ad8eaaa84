/// Reads elements of any plain dtype widened to `Double` (integers, bool and floats), for
/// statistics and comparisons that must treat every dtype alike.
public enum IntegerWidening {
    /// Decodes `count` elements of `dtype` at `src` into `dst` as Double.
    ///
    /// - Precondition: `dtype` is not a block type or `unknown`.
    public static func widen(_ src: UnsafeRawPointer, dtype: DType, into dst: UnsafeMutablePointer<Double>, count: Int) {
        func each<T>(_ type: T.Type, _ convert: (T) -> Double) {
            let width = MemoryLayout<T>.size
            for i in 0..<count { unsafe dst[i] = convert(unsafe src.loadUnaligned(fromByteOffset: i * width, as: T.self)) }
        }
        switch dtype {
        case .bool: each(UInt8.self) { $0 != 0 ? 1 : 0 }
        case .uint8: each(UInt8.self) { Double($0) }
        case .int8: each(Int8.self) { Double($0) }
        case .uint16: each(UInt16.self) { Double(UInt16(littleEndian: $0)) }
        case .int16: each(Int16.self) { Double(Int16(littleEndian: $0)) }
        case .uint32: each(UInt32.self) { Double(UInt32(littleEndian: $0)) }
        case .int32: each(Int32.self) { Double(Int32(littleEndian: $0)) }
        case .uint64: each(UInt64.self) { Double(UInt64(littleEndian: $0)) }
        case .int64: each(Int64.self) { Double(Int64(littleEndian: $0)) }
        case .float64: each(Double.self) { $0 }
        case .float32: each(Float.self) { Double($0) }
        case .float16: each(UInt16.self) { Double(FloatBits.float(halfBits: $0)) }
        case .bfloat16: each(UInt16.self) { Double(FloatBits.float(bfloatBits: $0)) }
        case .float8E4M3: each(UInt8.self) { Double(FloatBits.e4m3Table[Int($0)]) }
        case .float8E5M2: each(UInt8.self) { Double(FloatBits.e5m2Table[Int($0)]) }
        default: preconditionFailure("widen of block type or unknown type \(dtype)")
        }
    }
}
