import WeightKitCore

/// ggml's tensor type codes (`enum ggml_type` in ggml.h, as gguf-py's `GGMLQuantizationType`).
public enum GGMLType {
    /// Code → DType for every type with data in ggml's table. I8…I64 and F64 are the plain
    /// integer and double types.
    static let dtypes: [UInt32: DType] = [
        0: .float32, 1: .float16, 2: .q4_0, 3: .q4_1, 6: .q5_0, 7: .q5_1, 8: .q8_0, 9: .q8_1,
        10: .q2_K, 11: .q3_K, 12: .q4_K, 13: .q5_K, 14: .q6_K, 15: .q8_K, 16: .iq2_XXS, 17: .iq2_XS,
        18: .iq3_XXS, 19: .iq1_S, 20: .iq4_NL, 21: .iq3_S, 22: .iq2_S, 23: .iq4_XS, 24: .int8,
        25: .int16, 26: .int32, 27: .int64, 28: .float64, 29: .iq1_M, 30: .bfloat16, 34: .tq1_0,
        35: .tq2_0, 39: .mxfp4, 40: .nvfp4, 41: .q1_0, 42: .q2_0,
    ]

    /// Codes ggml once defined and has removed (their layouts are gone from ggml-common.h):
    /// read like unknown codes, named in messages.
    static let removedNames: [UInt32: String] = [
        4: "Q4_2", 5: "Q4_3", 31: "Q4_0_4_4", 32: "Q4_0_4_8", 33: "Q4_0_8_8", 36: "IQ4_NL_4_4",
        37: "IQ4_NL_4_8", 38: "IQ4_NL_8_8",
    ]

    /// The DType for a ggml type code, or nil when WeightKit does not read it.
    public static func dtype(code: UInt32) -> DType? { dtypes[code] }

    /// The ggml type code of `dtype`, or nil when GGUF has no such type.
    public static func code(of dtype: DType) -> UInt32? {
        dtypes.first { $0.value == dtype }?.key
    }

    /// ggml's name of a code (`Q4_1`, `IQ2_XXS`, `I8`, removed `Q4_0_4_4`), or `type N` when unknown.
    public static func name(code: UInt32) -> String {
        if let dtype = dtypes[code] {
            switch dtype {
            case .int8, .int16, .int32, .int64: return "I" + dtype.shortName.dropFirst()
            default: return dtype.shortName.uppercased()
            }
        }
        return removedNames[code] ?? "type \(code)"
    }

    /// llama.cpp's `general.file_type` codes (`enum llama_ftype` in llama.h): the type most of
    /// a file's weights have.
    static let fileTypes: [DType: UInt32] = [.float32: 0, .float16: 1, .q4_0: 2, .q4_1: 3, .q8_0: 7, .iq4_NL: 25, .iq4_XS: 30, .bfloat16: 32]

    /// The `general.file_type` code for a file whose weights are mostly `dtype`, or nil when
    /// llama.cpp names no such file type.
    public static func fileType(of dtype: DType) -> UInt32? { fileTypes[dtype] }

    /// The types the GGUF writer stores (those llama.cpp and WeightKit both compute on).
    public static let writable: Set<DType> = [.float32, .float16, .bfloat16, .q8_0, .q4_0, .q4_1]

    /// The types the GGUF writer accepts: `writable` plus the block types llama-quantize's
    /// mixes write (the K-quants, Q5_0/Q5_1 fallbacks and IQ4_NL) and IQ4_XS, which the quantizer produces.
    /// Conversion keeps using `writable`, so it never passes these blocks through unchanged.
    public static let storable: Set<DType> = writable.union([.q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS])
}
