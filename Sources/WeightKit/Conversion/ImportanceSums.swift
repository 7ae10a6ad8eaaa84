import WeightKitCore
import WeightKitFormats
import WeightKitQuantize

/// An importance matrix as llama-imatrix keeps it before saving: per weight, the sum over every
/// token of each input column's squared activation, and how many tokens that is. Its GGUF form
/// (`write(to:)`) is llama-imatrix's file: `<weight>.in_sum2` [columns] and `<weight>.counts` [1],
/// f32, in name order, with `general.type` = "imatrix", `imatrix.datasets`,
/// `imatrix.chunk_count` and `imatrix.chunk_size`.
public struct ImportanceSums: Sendable {
    /// One weight matrix's sums.
    public struct Entry: Sendable, Hashable {
        /// Σ over tokens of x[j]² for each input column j: [columns].
        public var sums: [Float]
        /// Tokens summed.
        public var count: Int

        /// Creates an entry.
        public init(sums: [Float], count: Int) {
            self.sums = sums
            self.count = count
        }
    }

    /// Entries by GGUF weight name (`blk.0.attn_q.weight`).
    public var entries: [String: Entry]
    /// The texts summed over (`imatrix.datasets`).
    public var datasets: [String]
    /// Chunks summed over (`imatrix.chunk_count`).
    public var chunkCount: Int
    /// Tokens per chunk (`imatrix.chunk_size`).
    public var chunkSize: Int

    /// Creates sums from their parts.
    public init(entries: [String: Entry], datasets: [String], chunkCount: Int, chunkSize: Int) {
        self.entries = entries
        self.datasets = datasets
        self.chunkCount = chunkCount
        self.chunkSize = chunkSize
    }

    /// The importance llama-quantize reads from this file (each sum divided by its count).
    public var matrix: ImportanceMatrix {
        var out: [String: ImportanceMatrix.Entry] = [:]
        for (name, e) in entries {
            let count = Float(e.count)
            out[name] = ImportanceMatrix.Entry(values: e.count > 0 ? e.sums.map { $0 / count } : e.sums.map { _ in 1 }, matrices: 1)
        }
        return ImportanceMatrix(format: .gguf, entries: out, datasets: datasets, chunkCount: chunkCount, chunkSize: chunkSize)
    }

    /// Writes llama-imatrix's GGUF file (`IMatrixCollector::save_imatrix`): the metadata keys in
    /// its order, then per weight in name order its sums and its count as f32 (1-D, as ggml
    /// writes a [n, 1] tensor). Through `OutputFile`: nothing is left at `path` on failure.
    @discardableResult
    public func write(to path: String) throws -> WriteReport {
        let metadata: [(String, GGUFValue)] = [
            ("general.type", .string("imatrix")),
            ("imatrix.datasets", .array(elementType: .string, datasets.map { .string($0) })),
            ("imatrix.chunk_count", .uint32(UInt32(clamping: chunkCount))),
            ("imatrix.chunk_size", .uint32(UInt32(clamping: chunkSize))),
        ]
        var arrays: [(String, [Float])] = []
        // std::sort over std::string: byte order.
        for name in entries.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let e = entries[name]!
            arrays.append(("\(name).in_sum2", e.sums))
            arrays.append(("\(name).counts", [Float(e.count)]))
        }
        let source = FloatArrays(arrays)
        let payloads = try source.tensors.map { try TensorPayload(source: source, input: $0) }
        return try GGUFWriter.write(payloads, typedMetadata: metadata, to: path)
    }
}

/// Named f32 vectors held in memory, as a tensor source for the GGUF writer.
final class FloatArrays: TensorSource {
    let formatName = "memory"
    let files: [String] = []
    let tensors: [TensorInfo]
    let metadata = Metadata()
    let buffers: [String: AlignedBuffer]

    init(_ arrays: [(String, [Float])]) {
        tensors = arrays.map { TensorInfo(name: $0.0, dtype: .float32, shape: Shape([$0.1.count]), byteCount: $0.1.count * 4) }
        var buffers: [String: AlignedBuffer] = [:]
        for (name, values) in arrays {
            // SAFETY: the array's bytes are valid for the call; the buffer copies them.
            buffers[name] = unsafe values.withUnsafeBytes { unsafe AlignedBuffer(copying: $0) }
        }
        self.buffers = buffers
    }

    func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard let buffer = buffers[tensor.name] else {
            throw FormatError(.tensorNotFound, "no tensor named \"\(tensor.name)\"", tensorName: tensor.name)
        }
        return TensorStorage(buffer: buffer)
    }
}
