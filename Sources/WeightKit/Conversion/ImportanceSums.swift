import WeightKitCore
import WeightKitFormats
import WeightKitQuantize

/// An importance matrix as llama-imatrix keeps it before saving: per weight, the sum over every
/// token of each input column's squared activation, and how many tokens that is (per expert for
/// stacked experts, which see only the tokens routed to them). Its GGUF form (`write(to:)`) is
/// llama-imatrix's file: `<weight>.in_sum2` [columns] and `<weight>.counts` [1] (stacked experts:
/// [experts, columns] and [experts, 1]), f32, in name order, with `general.type` = "imatrix",
/// `imatrix.datasets`, `imatrix.chunk_count` and `imatrix.chunk_size`.
public struct ImportanceSums: Sendable {
    /// One weight's sums.
    public struct Entry: Sendable, Hashable {
        /// Σ over tokens of x[j]² for each input column j, matrix by matrix: [matrices × columns].
        public var sums: [Float]
        /// Tokens summed, per matrix (one for a dense weight, one per expert for stacked experts).
        public var counts: [Int]

        /// Tokens summed by a dense weight (the largest per-expert count for stacked experts).
        public var count: Int { counts.max() ?? 0 }

        /// Creates a dense weight's entry.
        public init(sums: [Float], count: Int) {
            self.sums = sums
            self.counts = [count]
        }

        /// Creates an entry of `counts.count` matrices (experts).
        public init(sums: [Float], counts: [Int]) {
            self.sums = sums
            self.counts = counts
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

    /// The importance llama-quantize reads from this file (each matrix's sums divided by its
    /// count; 1 for an expert that saw no token).
    public var matrix: ImportanceMatrix {
        var out: [String: ImportanceMatrix.Entry] = [:]
        for (name, e) in entries {
            let columns = e.sums.count / max(e.counts.count, 1)
            let values = e.sums.indices.map { i -> Float in
                let n = e.counts[i / columns]
                return n > 0 ? e.sums[i] / Float(n) : 1
            }
            out[name] = ImportanceMatrix.Entry(values: values, matrices: e.counts.count)
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
        var arrays: [(String, [Float], Shape)] = []
        // std::sort over std::string: byte order.
        for name in entries.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
            let e = entries[name]!, matrices = e.counts.count
            // ggml's [columns, matrices] and [1, matrices]; a trailing 1 is dropped (1-D) as gguf does.
            let stacked = matrices > 1
            arrays.append(("\(name).in_sum2", e.sums, Shape(stacked ? [matrices, e.sums.count / matrices] : [e.sums.count])))
            arrays.append(("\(name).counts", e.counts.map { Float($0) }, Shape(stacked ? [matrices, 1] : [1])))
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

    init(_ arrays: [(String, [Float], Shape)]) {
        tensors = arrays.map { TensorInfo(name: $0.0, dtype: .float32, shape: $0.2, byteCount: $0.1.count * 4) }
        var buffers: [String: AlignedBuffer] = [:]
        for (name, values, _) in arrays {
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
