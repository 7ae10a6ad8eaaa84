import WeightKitCore

/// A sharded safetensors set read through `model.safetensors.index.json` as one tensor source.
///
/// Every shard's header is validated; every `weight_map` entry must exist in the shard it names;
/// a tensor name may appear in only one shard; shard names may not leave the index's folder.
public final class ShardedSafetensors: TensorSource {
    /// The index file.
    public let indexPath: String
    /// The shards, in the order their names first appear in `weight_map`.
    public let shards: [SafetensorsFile]
    public let tensors: [TensorInfo]
    public let metadata: Metadata

    public var formatName: String { "safetensors (sharded)" }
    public var files: [String] { shards.map { $0.file.path } }

    /// Cap on the index size: 64 MB is ~1M weight_map entries, far more than any model has.
    public static let maxIndexBytes = 64 << 20

    /// Reads the index and opens every shard it names.
    public init(indexPath: String) throws {
        self.indexPath = indexPath
        let index = try MappedFile(path: indexPath)
        guard index.count <= Self.maxIndexBytes else {
            throw FormatError.limit("index size", value: index.count, cap: Self.maxIndexBytes, path: indexPath)
        }
        let root: JSONValue
        do {
            root = try unsafe index.withUnsafeBytes { raw throws(JSONParseError) in try unsafe JSON.parse(raw) }
        } catch {
            throw FormatError.invalidHeader("index is not valid JSON: \(error.message)", path: indexPath, at: error.byteOffset)
        }
        guard let map = root.object?["weight_map"]?.object else {
            throw FormatError.invalidHeader("index has no \"weight_map\" object", path: indexPath)
        }
        let folder = indexPath.lastIndex(of: "/").map { String(indexPath[...$0]) } ?? ""
        var shardNames: [String] = []
        var wanted: [String: String] = [:]
        for (tensor, value) in map.entries {
            guard let shard = value.string else {
                throw FormatError.invalidHeader("weight_map value must be a file name, found \(value.typeName)", path: indexPath, tensor: tensor)
            }
            guard !shard.hasPrefix("/"), !shard.split(separator: "/").contains("..") else {
                throw FormatError.invalidHeader("shard name \"\(shard)\" leaves the model folder", path: indexPath, tensor: tensor)
            }
            if !shardNames.contains(shard) { shardNames.append(shard) }
            wanted[tensor] = shard
        }
        var opened: [SafetensorsFile] = []
        var all: [TensorInfo] = []
        var owner: [String: String] = [:]
        for (i, name) in shardNames.enumerated() {
            let shard = try SafetensorsFile(path: folder + name)
            for var info in shard.tensors {
                if let previous = owner[info.name] {
                    throw FormatError(.duplicateName, "tensor is in both \(previous) and \(name)", path: shard.file.path, tensorName: info.name)
                }
                owner[info.name] = name
                info.fileIndex = i
                all.append(info)
            }
            opened.append(shard)
        }
        for (tensor, shard) in wanted where owner[tensor] != shard {
            throw FormatError(.tensorNotFound, "weight_map puts it in \(shard), which does not hold it", path: indexPath, tensorName: tensor)
        }
        var metadata = Metadata()
        for (key, value) in root.object?["metadata"]?.object?.entries ?? [] {
            if let s = value.string { metadata[key] = .string(s) } else if let n = value.int { metadata[key] = .int(Int64(n)) }
        }
        for (key, value) in opened.first?.metadata.entries ?? [] where metadata[key] == nil { metadata[key] = value }
        self.shards = opened
        self.tensors = all
        self.metadata = metadata
    }

    public func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard shards.indices.contains(tensor.fileIndex) else {
            throw FormatError(.tensorNotFound, "no shard \(tensor.fileIndex)", path: indexPath, tensorName: tensor.name)
        }
        return try shards[tensor.fileIndex].storage(of: tensor)
    }
}
