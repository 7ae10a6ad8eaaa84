import WeightKitCore
import WeightKitFormats
import WeightKitQuantize

extension ImportanceMatrix {
    /// Reads an importance matrix written by `llama-imatrix`: its GGUF format (the file starts
    /// with `GGUF`) or the legacy `.dat` format (anything else), as llama-quantize's
    /// `common_imatrix_load` does.
    ///
    /// - Throws: `FormatError` from `init(gguf:)` or `init(legacy:)`, and `.cannotOpen`.
    public static func read(path: String) throws -> ImportanceMatrix {
        let file = try MappedFile(path: path)
        var reader = ByteReader(file: file, context: "importance matrix")
        let isGGUF = (try? reader.read(UInt32.self, "magic")) == 0x4655_4747  // "GGUF", little-endian
        do {
            return isGGUF ? try ImportanceMatrix(gguf: GGUFFile(file: file)) : try ImportanceMatrix(legacy: file)
        } catch let error as FormatError {
            throw error.at(path: path)
        }
    }
}
