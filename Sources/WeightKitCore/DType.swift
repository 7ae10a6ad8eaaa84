/// The element type of a tensor: every safetensors dtype, plus ggml's block-quantized types.
///
/// Plain types have a fixed byte width per element. Block types (`q8_0`, `q4_0`, `q4_1`) store
/// `blockElements` values in `blockBytes` bytes; their layouts live in `QuantBlocks.swift`.
/// `q5_0`, `q5_1`, `q4_K` and `q6_K` are read from GGUF and dequantized, not computed on.
public enum DType: String, CaseIterable, Sendable, Hashable, Codable {
    case bool
    case uint8, int8, uint16, int16, uint32, int32, uint64, int64
    case float16, bfloat16, float32, float64
    case float8E4M3 = "float8_e4m3"
    case float8E5M2 = "float8_e5m2"
    case q8_0, q4_0, q4_1
    case q5_0, q5_1, q4_K, q6_K

    /// Values stored per block: 1 for plain types, 32 for ggml block types.
    public var blockElements: Int {
        switch self {
        case .q8_0, .q4_0, .q4_1, .q5_0, .q5_1: return 32
        case .q4_K, .q6_K: return 256
        default: return 1
        }
    }

    /// Bytes per block (per element for plain types).
    public var blockBytes: Int {
        switch self {
        case .bool, .uint8, .int8, .float8E4M3, .float8E5M2: return 1
        case .uint16, .int16, .float16, .bfloat16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .q8_0: return 34  // f16 scale + 32 × int8
        case .q4_0: return 18  // f16 scale + 16 bytes of nibbles
        case .q4_1: return 20  // f16 scale + f16 min + 16 bytes of nibbles
        case .q5_0: return 22  // f16 scale + 4 bytes of high bits + 16 bytes of nibbles
        case .q5_1: return 24  // f16 scale + f16 min + 4 bytes of high bits + 16 bytes of nibbles
        case .q4_K: return 144  // f16 d + f16 dmin + 12 bytes of 6-bit scales/mins + 128 bytes of nibbles
        case .q6_K: return 210  // 128 bytes low nibbles + 64 bytes high 2-bits + 16 int8 scales + f16 d
        }
    }

    /// True for the ggml block-quantized types.
    public var isQuantized: Bool { blockElements > 1 }

    /// True for IEEE-like floating types (f8, f16, bf16, f32, f64); false for integers, bool, blocks.
    public var isFloatingPoint: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64, .float8E4M3, .float8E5M2: return true
        default: return false
        }
    }

    /// True for the signed and unsigned integer types (bool excluded).
    public var isInteger: Bool {
        switch self {
        case .uint8, .int8, .uint16, .int16, .uint32, .int32, .uint64, .int64: return true
        default: return false
        }
    }

    /// Short lowercase name used on the command line and in reports: `f32`, `bf16`, `q8_0`.
    public var shortName: String {
        switch self {
        case .bool: return "bool"
        case .uint8: return "u8"
        case .int8: return "i8"
        case .uint16: return "u16"
        case .int16: return "i16"
        case .uint32: return "u32"
        case .int32: return "i32"
        case .uint64: return "u64"
        case .int64: return "i64"
        case .float16: return "f16"
        case .bfloat16: return "bf16"
        case .float32: return "f32"
        case .float64: return "f64"
        case .float8E4M3: return "f8_e4m3"
        case .float8E5M2: return "f8_e5m2"
        case .q8_0: return "q8_0"
        case .q4_0: return "q4_0"
        case .q4_1: return "q4_1"
        case .q5_0: return "q5_0"
        case .q5_1: return "q5_1"
        case .q4_K: return "q4_k"
        case .q6_K: return "q6_k"
        }
    }

    /// Parses a short name (`f16`), a safetensors name (`F16`) or the case name (`float16`).
    public init?(name: String) {
        let lower = name.lowercased()
        if let match = DType.allCases.first(where: { $0.shortName == lower || $0.rawValue == lower }) {
            self = match
        } else if let match = DType(safetensorsName: name) {
            self = match
        } else {
            return nil
        }
    }

    /// Bytes needed for `elements` values, or nil on overflow or when `elements` is not a whole
    /// number of blocks.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockElements == 0 else { return nil }
        let (bytes, overflow) = (elements / blockElements).multipliedReportingOverflow(by: blockBytes)
        return overflow ? nil : bytes
    }
}

extension DType {
    /// The dtype string safetensors uses (`F32`, `BF16`, `F8_E4M3`), or nil for block types.
    public var safetensorsName: String? {
        switch self {
        case .bool: return "BOOL"
        case .uint8: return "U8"
        case .int8: return "I8"
        case .uint16: return "U16"
        case .int16: return "I16"
        case .uint32: return "U32"
        case .int32: return "I32"
        case .uint64: return "U64"
        case .int64: return "I64"
        case .float16: return "F16"
        case .bfloat16: return "BF16"
        case .float32: return "F32"
        case .float64: return "F64"
        case .float8E4M3: return "F8_E4M3"
        case .float8E5M2: return "F8_E5M2"
        case .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q6_K: return nil
        }
    }

    /// Maps a safetensors dtype string to a DType.
    public init?(safetensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else {
            return nil
        }
        self = match
    }

    /// The name config.json's `torch_dtype` gives this type (`float32`, `float16`, `bfloat16`),
    /// or nil for types a conversion never records there.
    public var torchName: String? {
        switch self {
        case .float32: return "float32"
        case .float16: return "float16"
        case .bfloat16: return "bfloat16"
        default: return nil
        }
    }

    /// Position in the reference crate's `Dtype` enum; its writer lays tensors out by this rank,
    /// highest first (widest alignment first), then by name.
    public var safetensorsRank: Int {
        switch self {
        case .bool: return 0
        case .uint8: return 1
        case .int8: return 2
        case .float8E5M2: return 3
        case .float8E4M3: return 4
        case .int16: return 5
        case .uint16: return 6
        case .float16: return 7
        case .bfloat16: return 8
        case .int32: return 9
        case .uint32: return 10
        case .float32: return 11
        case .float64: return 12
        case .int64: return 13
        case .uint64: return 14
        case .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q6_K: return -1
        }
    }
}
