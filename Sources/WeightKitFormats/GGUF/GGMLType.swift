import WeightKitCore

/// ggml's tensor type codes (`enum ggml_type` in ggml.h) as far as WeightKit needs them.
public enum GGMLType {
    /// Code → DType for the types WeightKit reads.
    static let dtypes: [UInt32: DType] = [
        0: .float32, 1: .float16, 2: .q4_0, 3: .q4_1, 6: .q5_0, 7: .q5_1, 8: .q8_0,
        12: .q4_K, 14: .q6_K, 30: .bfloat16,
    ]

    /// Names of the codes ggml defines that WeightKit cannot decode, for messages.
    static let otherNames: [UInt32: String] = [
        9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 13: "Q5_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS",
        18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8",
        25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
    ]

    /// The DType for a ggml type code, or nil when WeightKit does not read it.
    public static func dtype(code: UInt32) -> DType? { dtypes[code] }

    /// The ggml type code of `dtype`, or nil when GGUF has no such type.
    public static func code(of dtype: DType) -> UInt32? {
        dtypes.first { $0.value == dtype }?.key
    }

    /// The ggml name of a code (`Q4_1`), or `type N` when unknown.
    public static func name(code: UInt32) -> String {
        if let dtype = dtypes[code] { return dtype.shortName.uppercased() }
        return otherNames[code] ?? "type \(code)"
    }

    /// llama.cpp's `general.file_type` codes (`enum llama_ftype` in llama.h): the type most of
    /// a file's weights have.
    static let fileTypes: [DType: UInt32] = [.float32: 0, .float16: 1, .q4_0: 2, .q4_1: 3, .q8_0: 7, .bfloat16: 32]

    /// The `general.file_type` code for a file whose weights are mostly `dtype`, or nil when
    /// llama.cpp names no such file type.
    public static func fileType(of dtype: DType) -> UInt32? { fileTypes[dtype] }

    /// The types the GGUF writer stores (those llama.cpp and WeightKit both compute on).
    public static let writable: Set<DType> = [.float32, .float16, .bfloat16, .q8_0, .q4_0, .q4_1]
}
