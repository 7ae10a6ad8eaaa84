import WeightKitCore

/// An importance matrix as `llama-imatrix` writes it, read as llama-quantize reads it
/// (llama.cpp 0c1e570 `common/imatrix-loader.cpp` and `tools/quantize/quantize.cpp`
/// `load_imatrix`): for every weight matrix, one importance value per input column (per
/// column and expert for stacked experts), the mean of the squared activations it saw.
///
/// Two formats: GGUF (`NAME.in_sum2` `[matrices, columns]` sums of squares and `NAME.counts`
/// `[matrices, 1]` activation counts, f32, with `imatrix.datasets`, `imatrix.chunk_count` and
/// `imatrix.chunk_size`), normalised to `in_sum2 / lround(count)` (1 where a matrix saw no
/// activation); and the legacy `.dat` (`int32 n`, then per entry `int32 len, name, int32 ncall,
/// int32 nval, f32 × nval` holding `mean × ncall`, then an optional `int32 chunks, int32 len,
/// dataset`), normalised to `value / ncall`.
public struct ImportanceMatrix: Sendable {
    /// Which file format it came from.
    public enum Format: String, Sendable {
        /// llama-imatrix's default GGUF output.
        case gguf
        /// The `.dat` format (`--output-format dat`).
        case legacy
    }

    /// One weight matrix's importance.
    public struct Entry: Sendable, Hashable {
        /// `matrices × columns` values, matrix by matrix (one matrix unless stacked experts).
        public var values: [Float]
        /// Matrices (experts) the values cover.
        public var matrices: Int

        /// Values per matrix: the weight's row length ne[0].
        public var columns: Int { matrices == 0 ? 0 : values.count / matrices }

        /// Creates an entry of `matrices` rows of importance.
        public init(values: [Float], matrices: Int) {
            self.values = values
            self.matrices = matrices
        }
    }

    /// The file format.
    public var format: Format
    /// Entries by weight name (GGUF tensor names, `blk.0.attn_q.weight`).
    public var entries: [String: Entry]
    /// The texts it was computed on (`imatrix.datasets`; the legacy trailer's one name).
    public var datasets: [String]
    /// Chunks it was computed on (0 when the legacy file has no trailer).
    public var chunkCount: Int
    /// Tokens per chunk (`imatrix.chunk_size`; 0 for the legacy format, which does not say).
    public var chunkSize: Int

    /// Creates a matrix from its parts.
    public init(format: Format, entries: [String: Entry], datasets: [String] = [], chunkCount: Int = 0, chunkSize: Int = 0) {
        self.format = format
        self.entries = entries
        self.datasets = datasets
        self.chunkCount = chunkCount
        self.chunkSize = chunkSize
    }

    /// The importance for a weight with rows of `columns` values and `matrices` stacked
    /// matrices (experts), as llama-quantize looks it up.
    ///
    /// - Returns: the `matrices × columns` values, or nil when the file has no entry for
    ///   `name` (llama-quantize then quantizes that tensor without one) or when a token
    ///   embedding's entry has another size (llama-quantize ignores it there).
    /// - Throws: `FormatError` `.sizeMismatch` when any other entry's size is not
    ///   `columns × matrices` (llama-quantize stops: "imatrix size … is different from tensor size").
    public func importance(for name: String, columns: Int, matrices: Int) throws(FormatError) -> [Float]? {
        guard let entry = entries[name] else { return nil }
        guard entry.values.count == columns * matrices else {
            if name == "token_embd.weight" || name == "per_layer_token_embd.weight" { return nil }
            throw FormatError(
                .sizeMismatch, "importance matrix entry has \(entry.values.count) values, expected \(columns * matrices) (\(matrices) × \(columns) columns)",
                tensorName: name)
        }
        return entry.values
    }

    /// Entry names that are not among `names` (llama-quantize ignores them silently).
    public func unused(by names: some Sequence<String>) -> [String] {
        let known = Set(names)
        return entries.keys.filter { !known.contains($0) }.sorted()
    }

    /// Caps on what a file may declare before we allocate (llama.cpp has none): names are GGUF
    /// tensor names (ggml caps them at 64 bytes; 4 KiB leaves room), and no entry can hold
    /// more floats than the file has bytes.
    static let maxNameBytes = 4096
    static let maxDatasetBytes = 1 << 20

    /// Checks every value is finite, as llama-quantize does before quantizing ("imatrix
    /// contains non-finite value").
    func checkFinite(path: String?) throws(FormatError) {
        for name in entries.keys.sorted() {
            if let i = entries[name]!.values.firstIndex(where: { !$0.isFinite }) {
                throw FormatError(
                    .invalidHeader, "importance value \(i) is \(entries[name]!.values[i]), expected a finite number", path: path, tensorName: name)
            }
        }
    }
}

extension ImportanceMatrix {
    /// Reads the legacy `.dat` format (`common_imatrix_load_legacy`).
    ///
    /// - Throws: `FormatError` `.truncated` when an entry runs past the end, `.invalidHeader`
    ///   for no entries, a negative or oversized name length, fewer than one value or a
    ///   non-finite value, `.duplicateName` for a name given twice.
    public init(legacy file: MappedFile) throws(FormatError) {
        var r = ByteReader(file: file, context: "importance matrix")
        let count = try r.read(Int32.self, "entry count")
        guard count >= 1 else {
            throw FormatError(.invalidHeader, "entry count \(count), expected at least 1", path: file.path, byteOffset: 0)
        }
        var entries: [String: Entry] = [:]
        for i in 0..<Int(count) {
            let at = r.offset
            let length = try r.read(Int32.self, "name length of entry \(i)")
            guard length >= 0, length <= Self.maxNameBytes else {
                throw FormatError(.invalidHeader, "name length \(length) of entry \(i), expected 0…\(Self.maxNameBytes)", path: file.path, byteOffset: at)
            }
            let name = try r.readUTF8(Int(length), "name of entry \(i)")
            let ncall = try r.read(Int32.self, "call count of \(name)")
            let valuesAt = r.offset
            let nval = try r.read(Int32.self, "value count of \(name)")
            guard nval >= 1 else {
                throw FormatError(.invalidHeader, "value count \(nval), expected at least 1", path: file.path, byteOffset: valuesAt, tensorName: name)
            }
            try r.require(Int(nval) * 4, for: "\(nval) values of \(name)")
            var values = [Float](repeating: 0, count: Int(nval))
            for j in 0..<Int(nval) {
                let v = try r.readFloat32("value")
                // Stored as mean × ncall; llama-quantize divides by ncall when it is positive.
                values[j] = ncall > 0 ? v / Float(ncall) : v
            }
            guard entries[name] == nil else {
                throw FormatError(.duplicateName, "importance matrix names this tensor twice", path: file.path, byteOffset: at, tensorName: name)
            }
            entries[name] = Entry(values: values, matrices: 1)
        }
        // The trailer (chunk count, dataset name) is optional, as llama.cpp reads it: what is
        // there is read, a short trailer is ignored.
        var chunks = 0, datasets: [String] = []
        if r.remaining >= 4 {
            chunks = Int(try r.read(Int32.self, "chunk count"))
            if r.remaining >= 4 {
                let length = try r.read(Int32.self, "dataset name length")
                if length > 0, length <= Self.maxDatasetBytes, r.remaining >= Int(length) {
                    datasets = [try r.readUTF8(Int(length), "dataset name")]
                }
            }
        }
        self.init(format: .legacy, entries: entries, datasets: datasets, chunkCount: chunks, chunkSize: 0)
        try checkFinite(path: file.path)
    }

    /// Reads llama-imatrix's GGUF format from the GGUF's tensors and metadata
    /// (`common_imatrix_load` and `load_imatrix`).
    ///
    /// - Throws: `FormatError` `.invalidHeader` when the imatrix metadata keys are missing (as
    ///   llama-quantize refuses), there are no tensors, a `.in_sum2` has no `.counts` or the
    ///   reverse, or a value is not finite; `.unsupportedDType` for a non-f32 tensor;
    ///   `.shapeMismatch` when the sums are not whole rows per count.
    public init(gguf source: any TensorSource) throws {
        let path = source.files.first
        let meta = source.metadata
        guard meta["imatrix.datasets"] != nil, meta["imatrix.chunk_count"] != nil, meta["imatrix.chunk_size"] != nil else {
            throw FormatError(.invalidHeader, "missing imatrix metadata (imatrix.datasets, imatrix.chunk_count, imatrix.chunk_size): not an llama-imatrix file", path: path)
        }
        guard !source.tensors.isEmpty else { throw FormatError(.invalidHeader, "no data in the importance matrix (no tensors)", path: path) }
        var sums: [String: TensorInfo] = [:], counts: [String: TensorInfo] = [:]
        for t in source.tensors {
            if t.name.hasSuffix(".in_sum2") { sums[String(t.name.dropLast(8))] = t }
            if t.name.hasSuffix(".counts") { counts[String(t.name.dropLast(7))] = t }
        }
        var entries: [String: Entry] = [:]
        for name in Set(sums.keys).union(counts.keys).sorted() {
            guard let s = sums[name], let c = counts[name] else {
                throw FormatError(.invalidHeader, "mismatched sums and counts: \(sums[name] == nil ? ".in_sum2" : ".counts") is missing", path: path, tensorName: name)
            }
            for t in [s, c] where t.dtype != .float32 {
                throw FormatError(.unsupportedDType, "importance sums and counts must be f32, found \(t.dtype.shortName)", path: path, tensorName: t.name)
            }
            let sumValues = try Self.floats(source, s), countValues = try Self.floats(source, c)
            guard !countValues.isEmpty, sumValues.count % countValues.count == 0 else {
                throw FormatError(
                    .shapeMismatch, "\(sumValues.count) sums are not whole rows for \(countValues.count) counts", path: path, tensorName: s.name)
            }
            let columns = sumValues.count / countValues.count
            var values = [Float](repeating: 1, count: sumValues.count)
            for (j, raw) in countValues.enumerated() {
                // std::lround, then the int64 back to float, as llama.cpp does.
                let count = raw.isFinite ? Float(Int64(raw.rounded(.toNearestOrAwayFromZero))) : Float.nan
                guard count > 0 else { continue }  // no activations: 1 (llama-quantize's default)
                for i in 0..<columns { values[j * columns + i] = sumValues[j * columns + i] / count }
            }
            entries[name] = Entry(values: values, matrices: countValues.count)
        }
        var datasets: [String] = []
        if case .array(let items)? = meta["imatrix.datasets"] { datasets = items.compactMap(\.stringValue) }
        func int(_ key: String) -> Int {
            switch meta[key] {
            case .uint(let v)?: return Int(clamping: v)
            case .int(let v)?: return Int(clamping: v)
            default: return 0
            }
        }
        self.init(format: .gguf, entries: entries, datasets: datasets, chunkCount: int("imatrix.chunk_count"), chunkSize: int("imatrix.chunk_size"))
        try checkFinite(path: path)
    }

    /// A tensor's f32 values.
    static func floats(_ source: any TensorSource, _ t: TensorInfo) throws -> [Float] {
        let storage = try source.storage(of: t)
        return unsafe storage.withUnsafeBytes { raw in
            // SAFETY: the reader checked the tensor's byte range; loadUnaligned copes with any alignment.
            (0..<raw.count / 4).map { unsafe Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
}
