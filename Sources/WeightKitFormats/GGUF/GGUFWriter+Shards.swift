#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightKitCore

/// How a GGUF shard set is cut, as `llama-gguf-split --split` cuts it.
public enum GGUFShardLimit: Sendable, Hashable {
    /// `--split-max-size`: at most this many bytes of tensor data (each tensor padded to 32)
    /// per shard; a tensor larger than that gets a shard of its own.
    case bytes(Int)
    /// `--split-max-tensors`: at most this many tensors per shard.
    case tensors(Int)

    /// The limit `options` ask for (`shardSize` or `shardMaxTensors`), nil for one file.
    ///
    /// - Throws: `FormatError` `.unsupported` for both at once (llama-gguf-split takes one
    ///   mode), or a limit below 1.
    public init?(_ options: WriteOptions, path: String? = nil) throws(FormatError) {
        switch (options.shardSize, options.shardMaxTensors) {
        case (nil, nil): return nil
        case (let bytes?, nil):
            guard bytes > 0 else { throw FormatError(.unsupported, "a shard size must be positive, got \(bytes)", path: path) }
            self = .bytes(bytes)
        case (nil, let count?):
            guard count > 0 else { throw FormatError(.unsupported, "shards must hold at least 1 tensor, got \(count)", path: path) }
            self = .tensors(count)
        case (_?, _?):
            throw FormatError(.unsupported, "shards are cut by size or by tensor count, not both (as llama-gguf-split)", path: path)
        }
    }
}

/// Shard sets as `llama-gguf-split --split-max-size` / `--split-max-tensors` write them
/// (tools/gguf-split/gguf-split.cpp at llama.cpp 0c1e570), read back as one model by
/// `GGUFFile(path:)` and by llama.cpp.
extension GGUFWriter {
    /// Tensors (in order) grouped into shards the way `llama-gguf-split --split-max-size` groups
    /// them: each tensor counts its data padded to 32 bytes, metadata and headers do not count,
    /// and a new shard starts when the next tensor would take the current one past `maxBytes`.
    /// A tensor larger than `maxBytes` gets a shard of its own (llama-gguf-split refuses the
    /// case where that tensor comes first; elsewhere the plans are the same).
    public static func shardPlan(_ tensors: [TensorInfo], maxBytes: Int) -> [Range<Int>] {
        shardPlan(tensors, limit: .bytes(maxBytes))
    }

    /// Tensors (in order) grouped into shards as `llama-gguf-split` groups them under `limit`:
    /// by size as `shardPlan(_:maxBytes:)` says, or by count (`split_strategy::should_split`:
    /// a new shard at every multiple of the count).
    public static func shardPlan(_ tensors: [TensorInfo], limit: GGUFShardLimit) -> [Range<Int>] {
        let maxBytes: Int
        switch limit {
        case .tensors(let count):
            guard count > 0, !tensors.isEmpty else { return [0..<tensors.count] }
            return stride(from: 0, to: tensors.count, by: count).map { $0..<min($0 + count, tensors.count) }
        case .bytes(let bytes):
            maxBytes = bytes
        }
        var ranges: [Range<Int>] = []
        var start = 0
        var size = 0
        for (i, t) in tensors.enumerated() {
            let padded = (t.byteCount + alignment - 1) / alignment * alignment
            if i > start, size + padded > maxBytes {
                ranges.append(start..<i)
                start = i
                size = 0
            }
            size += padded
        }
        ranges.append(start..<tensors.count)
        return ranges
    }

    /// The files writing `tensors` to `path` produces: `path` itself when no `shardSize` is given
    /// or all fits in one shard, else `PREFIX-00001-of-0000N.gguf`… where PREFIX is `path`
    /// without its `.gguf` extension (what `llama-gguf-split` takes as its output argument).
    public static func outputPaths(for tensors: [TensorInfo], path: String, shardSize: Int?) -> [String] {
        outputPaths(for: tensors, path: path, limit: shardSize.map { .bytes($0) })
    }

    /// The files writing `tensors` to `path` under `limit` produces (see `outputPaths(for:path:shardSize:)`).
    public static func outputPaths(for tensors: [TensorInfo], path: String, limit: GGUFShardLimit?) -> [String] {
        guard let limit else { return [path] }
        let count = shardPlan(tensors, limit: limit).count
        guard count > 1 else { return [path] }
        let prefix = path.hasSuffix(".gguf") ? String(path.dropLast(5)) : path
        return (0..<count).map { GGUFFile.shardPath(prefix: prefix, index: $0, count: count) }
    }

    /// Writes a shard set (or `path` alone when everything fits in one shard): the first shard
    /// carries all metadata, every shard `split.no`, `split.tensors.count` and `split.count` after
    /// it, as llama-gguf-split writes them (so a GGUF we wrote, split here, gives its files byte
    /// for byte). Every shard is written to a temporary file; they are
    /// renamed into place only when all are complete (and removed again if a rename fails).
    static func writeSharded(
        _ tensors: [TensorPayload], typedMetadata: [(String, GGUFValue)], to path: String, limit: GGUFShardLimit, options: WriteOptions
    ) throws -> WriteReport {
        let infos = tensors.map(\.info)
        let ranges = shardPlan(infos, limit: limit)
        let paths = outputPaths(for: infos, path: path, limit: limit)
        var single = options
        single.shardSize = nil
        single.shardMaxTensors = nil
        guard ranges.count > 1 else { return try write(tensors, typedMetadata: typedMetadata, to: path, options: single) }
        guard ranges.count <= GGUFFile.maxShardCount else {
            throw FormatError.limit("shard count", value: ranges.count, cap: GGUFFile.maxShardCount, path: path)
        }
        // Every name and dtype is checked before the first byte is written.
        var scratch = GGUFBytes()
        _ = try tensorInfos(tensors, into: &scratch, path: path)
        let metadata = typedMetadata.filter { !GGUFFile.splitKeys.contains($0.0) }
        var outputs: [OutputFile] = []
        for (i, (range, shardPath)) in zip(ranges, paths).enumerated() {
            var kvs = i == 0 ? metadata : []
            // In llama-gguf-split's order: it sets split.count last (gguf_set_val re-appends a key).
            kvs.append((GGUFFile.splitNoKey, .uint16(UInt16(i))))
            kvs.append((GGUFFile.splitTensorsCountKey, .int32(Int32(clamping: tensors.count))))
            kvs.append((GGUFFile.splitCountKey, .uint16(UInt16(ranges.count))))
            let output = try OutputFile(path: shardPath)
            try writeFile(
                Array(tensors[range]), typedMetadata: kvs, into: output, options: options, done: range.lowerBound, total: tensors.count)
            outputs.append(output)
        }
        var committed: [String] = []
        do {
            for output in outputs {
                try output.commit()
                committed.append(output.path)
            }
        } catch {
            // A half-renamed set is not left behind: the shards already in place go too.
            for done in committed { unsafe unlink(done) }
            throw error
        }
        return WriteReport(files: paths, bytesWritten: outputs.reduce(0) { $0 + $1.written })
    }
}
