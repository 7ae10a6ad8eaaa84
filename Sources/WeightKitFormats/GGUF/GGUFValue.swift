import WeightKitCore

/// The type codes of GGUF metadata values (`gguf_type` in ggml's gguf.h).
public enum GGUFValueType: UInt32, Sendable, Hashable, CaseIterable {
    /// Scalar types 0–7: u8, i8, u16, i16, u32, i32, f32, bool.
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    /// u64-length-prefixed UTF-8, a typed array, and the 64-bit scalars.
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes one value of this type takes on disk at least (strings: their u64 length; arrays:
    /// element type + count). Used to bound counts by the bytes remaining before allocating.
    public var minimumSize: Int {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64, .string: return 8
        case .array: return 12
        }
    }
}

/// A GGUF metadata value with its exact on-disk type, so GGUF → GGUF keeps every type.
public indirect enum GGUFValue: Sendable, Hashable {
    /// Integer scalars of each width and signedness.
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    /// Float, bool, string and 64-bit scalars.
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    /// An array of values all of `elementType` (nested arrays allowed, as the spec permits).
    case array(elementType: GGUFValueType, [GGUFValue])

    /// The type code written before the value.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        case .array: return .array
        }
    }

    /// The value as Core metadata: integers widen to `int`/`uint`, floats to `float` (Double).
    public var metadataValue: MetadataValue {
        switch self {
        case .uint8(let v): return .uint(UInt64(v))
        case .uint16(let v): return .uint(UInt64(v))
        case .uint32(let v): return .uint(UInt64(v))
        case .uint64(let v): return .uint(v)
        case .int8(let v): return .int(Int64(v))
        case .int16(let v): return .int(Int64(v))
        case .int32(let v): return .int(Int64(v))
        case .int64(let v): return .int(v)
        case .float32(let v): return .float(Double(v))
        case .float64(let v): return .float(v)
        case .bool(let v): return .bool(v)
        case .string(let s): return .string(s)
        case .array(_, let items): return .array(items.map(\.metadataValue))
        }
    }

    /// Types Core metadata the way llama.cpp expects its keys: unsigned → u32 (u64 when larger),
    /// signed → i32 (i64 when larger), floats → f32 (`llama.rope.freq_base`, token scores),
    /// integer arrays → i32 (`tokenizer.ggml.token_type`). Returns nil for an array mixing
    /// kinds, which GGUF cannot hold.
    public init?(_ value: MetadataValue) {
        switch value {
        case .string(let s): self = .string(s)
        case .bool(let b): self = .bool(b)
        case .float(let d): self = .float32(Float(d))
        case .uint(let u): self = u <= UInt64(UInt32.max) ? .uint32(UInt32(u)) : .uint64(u)
        case .int(let i): self = Int64(Int32.min)...Int64(Int32.max) ~= i ? .int32(Int32(i)) : .int64(i)
        case .array(let items):
            guard let converted = GGUFValue.array(items) else { return nil }
            self = converted
        }
    }

    /// A uniformly typed array from Core values; integer arrays become i32 when every value fits,
    /// else u32/u64 (all unsigned) or i64.
    static func array(_ items: [MetadataValue]) -> GGUFValue? {
        var values: [GGUFValue] = []
        values.reserveCapacity(items.count)
        let integers = !items.isEmpty && items.allSatisfy {
            if case .int = $0 { return true }
            if case .uint = $0 { return true }
            return false
        }
        if integers {
            let int32s = Int64(Int32.min)...Int64(Int32.max)
            let fitsInt32 = items.allSatisfy {
                switch $0 {
                case .int(let i): return int32s ~= i
                case .uint(let u): return u <= UInt64(Int32.max)
                default: return false
                }
            }
            let unsigned = items.allSatisfy { if case .uint = $0 { return true } else { return false } }
            let wideUnsigned = items.contains { if case .uint(let u) = $0 { return u > UInt64(UInt32.max) } else { return false } }
            for item in items {
                switch item {
                case .int(let i): values.append(fitsInt32 ? .int32(Int32(i)) : .int64(i))
                case .uint(let u) where fitsInt32: values.append(.int32(Int32(u)))
                case .uint(let u) where unsigned: values.append(wideUnsigned ? .uint64(u) : .uint32(UInt32(u)))
                case .uint(let u):
                    guard let i = Int64(exactly: u) else { return nil }
                    values.append(.int64(i))
                default: return nil
                }
            }
            return .array(elementType: values[0].type, values)
        }
        for item in items {
            guard let v = GGUFValue(item) else { return nil }
            values.append(v)
        }
        let type = values.first?.type ?? .uint8
        guard values.allSatisfy({ $0.type == type }) else { return nil }
        return .array(elementType: type, values)
    }
}
