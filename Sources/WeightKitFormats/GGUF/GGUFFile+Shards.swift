import WeightKitCore

/// Shard sets as llama.cpp's `llama-gguf-split` writes them and `llama_model_loader` reads them
/// (tools/gguf-split/gguf-split.cpp, src/llama-model-loader.cpp at llama.cpp 0c1e570): files
/// named `PREFIX-00001-of-00003.gguf` (`llama_split_path`), each a complete GGUF with its own
/// tensor infos and data section; the first carries all metadata, every shard carries
/// `split.no` (u16, 0-based), `split.count` (u16) and `split.tensors.count` (i32, tensors over
/// all shards).
extension GGUFFile {
    /// `split.no`: the shard's 0-based index (u16).
    public static let splitNoKey = "split.no"
    /// `split.count`: how many shards the set has (u16; 0 marks llama-gguf-split's merged output).
    public static let splitCountKey = "split.count"
    /// `split.tensors.count`: tensors in all shards together (i32).
    public static let splitTensorsCountKey = "split.tensors.count"
    /// The keys a shard set's merged metadata leaves out.
    public static let splitKeys: Set<String> = [splitNoKey, splitCountKey, splitTensorsCountKey]
    /// Cap on shards: `split.count` is a u16 in llama.cpp.
    public static let maxShardCount = Int(UInt16.max)

    /// `PREFIX-%05d-of-%05d.gguf` for the shard at 0-based `index` of `count` (`llama_split_path`).
    public static func shardPath(prefix: String, index: Int, count: Int) -> String {
        "\(prefix)-\(pad5(index + 1))-of-\(pad5(count)).gguf"
    }

    /// The prefix of `path` when it is named as the shard at 0-based `index` of `count`
    /// (`llama_split_prefix`), else nil.
    public static func shardPrefix(of path: String, index: Int, count: Int) -> String? {
        let suffix = "-\(pad5(index + 1))-of-\(pad5(count)).gguf"
        guard path.utf8.count > suffix.utf8.count, path.hasSuffix(suffix) else { return nil }
        return String(path.dropLast(suffix.count))
    }

    /// The checked shard set `opened` belongs to, every shard in order (`opened` among them);
    /// nil when `opened` is a plain file (no `split.count`, or 0 as llama-gguf-split's merge
    /// leaves it). A set of one needs no shard name.
    ///
    /// - Throws: `FormatError` naming the file and what was expected: `.truncated` for a missing
    ///   shard (naming the file expected), `.invalidHeader` for a file not named as its
    ///   `split.no` says, a `split.count` or `split.no` out of place, or `split.tensors.count`
    ///   disagreeing with the tensors found; `.duplicateName` for a tensor in two shards.
    static func shardSet(opened: GGUFPart) throws(FormatError) -> [GGUFPart]? {
        let path = opened.file.path
        guard let countValue = opened.value(splitCountKey) else { return nil }
        let count = try splitInteger(countValue, key: splitCountKey, path: path)
        guard count > 0 else { return nil }
        guard count <= maxShardCount else {
            throw .limit(splitCountKey, value: count, cap: maxShardCount, path: path)
        }
        guard let indexValue = opened.value(splitNoKey) else {
            throw FormatError(.invalidHeader, "\(splitCountKey) is \(count) but \(splitNoKey) is missing", path: path)
        }
        let index = try splitInteger(indexValue, key: splitNoKey, path: path)
        guard index < count else {
            throw FormatError(.invalidHeader, "\(splitNoKey) is \(index), expected below \(splitCountKey) \(count)", path: path)
        }
        if count == 1 {
            // A set of one is the whole model whatever the file is called (llama.cpp loads it as
            // a plain file); its split keys must still agree with it.
            try checkShards([opened], count: 1)
            return [opened]
        }
        guard let prefix = shardPrefix(of: path, index: index, count: count) else {
            let expected = shardPath(prefix: "PREFIX", index: index, count: count)
            throw FormatError(
                .invalidHeader,
                "shard \(index + 1) of \(count) must be named \(expected) (as llama-gguf-split names it) for the other shards to be found",
                path: path)
        }
        var parts: [GGUFPart] = []
        for i in 0..<count {
            if i == index {
                parts.append(opened)
                continue
            }
            let shard = shardPath(prefix: prefix, index: i, count: count)
            guard FormatDetector.kind(of: shard) == .file else {
                throw FormatError(
                    .truncated, "shard \(i + 1) of \(count) is missing: expected \(shard) (\(splitCountKey) is \(count))", path: path)
            }
            parts.append(try GGUFPart(file: MappedFile(path: shard)))
        }
        try checkShards(parts, count: count)
        return parts
    }

    /// Every shard's split keys in place, tensor names unique across shards, and the tensor
    /// total equal to `split.tensors.count`.
    static func checkShards(_ parts: [GGUFPart], count: Int) throws(FormatError) {
        let first = parts[0].file.path
        var owner: [String: Int] = [:]
        for (i, part) in parts.enumerated() {
            let path = part.file.path
            guard let countValue = part.value(splitCountKey) else {
                throw FormatError(.invalidHeader, "\(splitCountKey) is missing: expected \(count), as in the rest of the set", path: path)
            }
            let found = try splitInteger(countValue, key: splitCountKey, path: path)
            guard found == count else {
                throw FormatError(
                    .invalidHeader, "\(splitCountKey) is \(found), expected \(count) as in \(first) (shards from two sets?)", path: path)
            }
            guard let indexValue = part.value(splitNoKey) else {
                throw FormatError(.invalidHeader, "\(splitNoKey) is missing: expected \(i) (shard \(i + 1) of \(count))", path: path)
            }
            let index = try splitInteger(indexValue, key: splitNoKey, path: path)
            guard index == i else {
                throw FormatError(
                    .invalidHeader, "\(splitNoKey) is \(index), expected \(i): the file is named as shard \(i + 1) of \(count)", path: path)
            }
            for t in part.tensors {
                if let previous = owner[t.name] {
                    throw FormatError(
                        .duplicateName, "tensor is also in \(parts[previous].file.path) (shards from two models?)", path: path, tensorName: t.name)
                }
                owner[t.name] = i
            }
        }
        let total = owner.count
        for (i, part) in parts.enumerated() {
            guard let value = part.value(splitTensorsCountKey) else {
                if i == 0 {
                    throw FormatError(.invalidHeader, "\(splitTensorsCountKey) is missing: expected \(total), the tensors in all \(count) shards", path: first)
                }
                continue
            }
            let declared = try splitInteger(value, key: splitTensorsCountKey, path: part.file.path)
            guard declared == total else {
                throw FormatError(
                    .invalidHeader, "\(splitTensorsCountKey) is \(declared), but the \(count) shards hold \(total) tensors", path: part.file.path)
            }
        }
    }

    /// A split key's value as a non-negative Int (llama.cpp writes u16 and i32; any integer type
    /// is read).
    static func splitInteger(_ value: GGUFValue, key: String, path: String) throws(FormatError) -> Int {
        switch value.metadataValue {
        case .uint(let v) where v <= UInt64(Int32.max): return Int(v)
        case .int(let v) where v >= 0 && v <= Int64(Int32.max): return Int(v)
        default:
            throw FormatError(.invalidHeader, "\(key) must be a non-negative integer, found \(value.metadataValue)", path: path)
        }
    }

    /// `%05d`, as both shard namings (transformers', llama.cpp's) write the numbers.
    static func pad5(_ n: Int) -> String { SafetensorsWriter.pad5(n) }
}
