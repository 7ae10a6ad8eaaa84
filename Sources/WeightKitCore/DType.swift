/// The element type of a tensor: every safetensors dtype, plus ggml's block-quantized types.
///
/// Plain types have a fixed byte width per element. Block types (every type in ggml's table:
/// `q8_0` … `q6_K`, the IQ and ternary types, `mxfp4`, `nvfp4`, `q1_0`, `q2_0`) store `blockElements` values in
/// `blockBytes` bytes; their layouts and reference decoders live in `QuantBlocks*.swift`. Which
/// of them the runtime computes on directly is the Graph binder's business; the rest are
/// dequantized to f32 when read. `unknown` stands for a type code a file declares that WeightKit
/// does not know: its tensors show in headers, and reading their data is an error.
public enum DType: String, CaseIterable, Sendable, Hashable, Codable {
    case bool
    case uint8, int8, uint16, int16, uint32, int32, uint64, int64
    case float16, bfloat16, float32, float64
    case float8E4M3 = "float8_e4m3"
    case float8E5M2 = "float8_e5m2"
    case q8_0, q4_0, q4_1
    case q5_0, q5_1, q4_K, q6_K
    case q8_1, q2_K, q3_K, q5_K, q8_K
    case iq2_XXS, iq2_XS, iq2_S, iq3_XXS, iq3_S, iq1_S, iq1_M, iq4_NL, iq4_XS
    case tq1_0, tq2_0, mxfp4, nvfp4, q1_0, q2_0
    /// A type code the file declares and WeightKit does not know (`TensorInfo.unknownTypeCode`).
    case unknown

    /// Values stored per block: 1 for plain types; 32, 64, 128 or 256 for ggml block types
    /// (gguf-py's `GGML_QUANT_SIZES`).
    public var blockElements: Int {
        switch self {
        case .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q8_1, .iq4_NL, .mxfp4: return 32
        case .nvfp4, .q2_0: return 64
        case .q1_0: return 128
        case .q4_K, .q6_K, .q2_K, .q3_K, .q5_K, .q8_K, .iq2_XXS, .iq2_XS, .iq2_S, .iq3_XXS, .iq3_S, .iq1_S, .iq1_M,
            .iq4_XS, .tq1_0, .tq2_0:
            return 256
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
        // ggml-common.h's `block_q8_1` (f16 d, f16 s = d·Σq, 32 × int8): 36 bytes. gguf-py's table
        // says 40 (f32 d and s, an older layout); files follow ggml's `ggml_type_size`.
        case .q8_1: return 36
        case .q2_K: return 84  // 16 bytes of 4-bit scale/min + 64 bytes of 2-bit quants + f16 d + f16 dmin
        case .q3_K: return 110  // 32 bytes high bits + 64 bytes of 2-bit quants + 12 bytes of 6-bit scales + f16 d
        case .q5_K: return 176  // f16 d + f16 dmin + 12 bytes of scales/mins + 32 bytes high bits + 128 bytes nibbles
        case .q8_K: return 292  // f32 d + 256 × int8 + 16 × i16 block sums
        case .iq2_XXS: return 66  // f16 d + 32 × u16 (grid indices, signs and scales)
        case .iq2_XS: return 74  // f16 d + 32 × u16 (9-bit grid index, 7-bit sign index) + 8 bytes of 4-bit scales
        case .iq2_S: return 82  // f16 d + 32 grid bytes + 32 sign bytes + 8 bytes high bits + 8 bytes of scales
        case .iq3_XXS: return 98  // f16 d + 64 grid bytes + 8 × u32 (signs and scales)
        case .iq3_S: return 110  // f16 d + 64 grid bytes + 8 bytes high bits + 32 sign bytes + 4 bytes of scales
        case .iq1_S: return 50  // f16 d + 32 grid bytes + 8 × u16 (high bits, scale, delta sign)
        case .iq1_M: return 56  // 32 grid bytes + 16 bytes high bits/delta signs + 8 bytes of scales (d spread in them)
        case .iq4_NL: return 18  // f16 d + 16 bytes of nibbles (non-linear table)
        case .iq4_XS: return 136  // f16 d + u16 high scale bits + 4 bytes low scale bits + 128 bytes nibbles
        case .tq1_0: return 54  // 48 bytes of 5 trits + 4 bytes of 4 trits + f16 d
        case .tq2_0: return 66  // 64 bytes of 2-bit trits + f16 d
        case .mxfp4: return 17  // e8m0 exponent + 16 bytes of e2m1 nibbles
        case .nvfp4: return 36  // 4 ue4m3 sub-block scales + 32 bytes of e2m1 nibbles
        case .q1_0: return 18  // f16 d + 16 bytes of sign bits
        case .q2_0: return 18  // f16 d + 16 bytes of 2-bit codes (−1, 0, +1, +2)
        case .unknown: return 0  // unknown: the size of its data cannot be known
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
        case .q8_1: return "q8_1"
        case .q2_K: return "q2_k"
        case .q3_K: return "q3_k"
        case .q5_K: return "q5_k"
        case .q8_K: return "q8_k"
        case .iq2_XXS: return "iq2_xxs"
        case .iq2_XS: return "iq2_xs"
        case .iq2_S: return "iq2_s"
        case .iq3_XXS: return "iq3_xxs"
        case .iq3_S: return "iq3_s"
        case .iq1_S: return "iq1_s"
        case .iq1_M: return "iq1_m"
        case .iq4_NL: return "iq4_nl"
        case .iq4_XS: return "iq4_xs"
        case .tq1_0: return "tq1_0"
        case .tq2_0: return "tq2_0"
        case .mxfp4: return "mxfp4"
        case .nvfp4: return "nvfp4"
        case .q1_0: return "q1_0"
        case .q2_0: return "q2_0"
        case .unknown: return "unknown"
        }
    }

    /// Parses a short name (`f16`), a safetensors name (`F16`) or the case name (`float16`).
    /// `unknown` is never parsed: it only comes from a file's type code.
    public init?(name: String) {
        let lower = name.lowercased()
        if let match = DType.allCases.first(where: { $0 != .unknown && ($0.shortName == lower || $0.rawValue.lowercased() == lower) }) {
            self = match
        } else if let match = DType(safetensorsName: name) {
            self = match
        } else {
            return nil
        }
    }

    /// Bytes needed for `elements` values, or nil on overflow, when `elements` is not a whole
    /// number of blocks, or for `unknown`.
    public func byteCount(elements: Int) -> Int? {
        guard self != .unknown, elements >= 0, elements % blockElements == 0 else { return nil }
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
        default: return nil  // block types and unknown
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
        default: return -1  // block types and unknown
        }
    }
}
