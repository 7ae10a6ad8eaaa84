import WeightKitCore

/// A GGUF file (v2 or v3, little-endian): typed metadata and tensors viewed in place.
///
/// Parsing follows ggml's `gguf_init_from_file_impl` and candle's `gguf_file.rs`: every count
/// and length is checked against a named cap and against the bytes remaining before anything
/// is allocated; duplicate keys and tensor names are rejected; dims are ≤ 4 and their product
/// is overflow-checked; rows are whole blocks; each tensor's offset is aligned and its data
/// lies inside the file without overlapping another's. A tensor type code WeightKit does not
/// know is kept (`DType.unknown`, `TensorInfo.unknownTypeCode`): headers read, its data does not. Tensor shapes are presented numpy-style
/// (outermost first), the reverse of GGUF's innermost-first `ne`.
///
/// `init(path:)` on one shard of a `llama-gguf-split` set opens the whole set as one model
/// (`GGUFFile+Shards.swift`): one mapping per shard, `TensorInfo.fileIndex` naming each tensor's
/// shard, the first shard's metadata without the `split.*` keys. `init(singleFile:)` reads one
/// file as stored.
public final class GGUFFile: TensorSource {
    /// The four bytes every GGUF file starts with.
    public static let magic: [UInt8] = Array("GGUF".utf8)
    /// Alignment of tensor data when `general.alignment` is absent.
    public static let defaultAlignment = 32

    /// Cap on tensors: the largest published models have a few thousand; 1 Mi leaves room while
    /// bounding the tensor table at tens of MB.
    public static let maxTensorCount = 1 << 20
    /// Cap on metadata entries: real files have a few dozen.
    public static let maxKVCount = 1 << 20
    /// Cap on one string: chat templates, the longest real strings, are tens of kB.
    public static let maxStringLength = 16 << 20
    /// Cap on array elements: vocabularies reach 256 Ki tokens and merges a few hundred thousand.
    public static let maxArrayLength = 1 << 24
    /// Cap on array elements in all metadata together: each element becomes a value of ~24 bytes,
    /// so this bounds what a small file of u8 arrays can make us allocate (real files: ~1 Mi).
    public static let maxTotalArrayElements = 1 << 24
    /// Cap on arrays nested in arrays (ggml itself reads none; the spec allows them).
    public static let maxArrayNesting = 4
    /// ggml's `GGML_MAX_DIMS`.
    public static let maxDims = 4
    /// Cap on a tensor name: ggml's own limit is 63 bytes; we accept longer names other writers emit.
    public static let maxNameLength = 1024

    /// The path of the first file: the one opened, or shard 1 of a set.
    public let path: String
    /// The first file's mapping (shard 1 of a set).
    public let file: MappedFile
    /// One mapping per file, in `TensorInfo.fileIndex` order (one for a plain file).
    public let mappings: [MappedFile]
    /// GGUF version (2 or 3) of the first file.
    public let version: UInt32
    /// Data alignment in bytes of the first file (`general.alignment`, default 32).
    public let alignment: Int
    /// Absolute offset of the first file's data section.
    public let dataOffset: Int
    /// Metadata with exact GGUF types, in file order (a shard set: shard 1's, without `split.*`).
    public let typedMetadata: [(key: String, value: GGUFValue)]
    /// Metadata as Core values, in file order.
    public let metadata: Metadata
    /// Tensors in file order (a shard set: shard by shard); `fileOffset` is absolute in the file
    /// `fileIndex` names.
    public let tensors: [TensorInfo]
    private let typedIndex: [String: Int]

    /// `gguf`, or `gguf (N shards)` for a shard set.
    public var formatName: String { mappings.count > 1 ? "gguf (\(mappings.count) shards)" : "gguf" }
    /// The files, in shard order.
    public var files: [String] { mappings.map(\.path) }
    /// True when the tensors come from a llama-gguf-split shard set of more than one file.
    public var isShardSet: Bool { mappings.count > 1 }

    /// Opens and validates `path`; a shard of a `llama-gguf-split` set (`split.count` > 1) opens
    /// the whole set as one model (`GGUFFile+Shards.swift`), whichever shard is named.
    public convenience init(path: String) throws {
        let opened = try GGUFPart(file: MappedFile(path: path))
        let set = try Self.shardSet(opened: opened)
        self.init(parts: set ?? [opened], stripSplitKeys: set != nil)
    }

    /// Opens and validates exactly the file at `path`, as stored: a shard stays one shard with
    /// its `split.*` keys (for tools that edit one file).
    public convenience init(singleFile path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Validates an already mapped file, as stored (a shard stays one shard).
    public convenience init(file: MappedFile) throws(FormatError) {
        try self.init(parts: [GGUFPart(file: file)])
    }

    /// Joins validated files (one, or a checked shard set) into one tensor source; a shard set's
    /// metadata is its first shard's without the `split.*` keys.
    init(parts: [GGUFPart], stripSplitKeys: Bool = false) {
        let first = parts[0]
        file = first.file
        path = first.file.path
        mappings = parts.map(\.file)
        version = first.version
        alignment = first.alignment
        dataOffset = first.dataOffset
        let kvs = stripSplitKeys ? first.typedMetadata.filter { !Self.splitKeys.contains($0.key) } : first.typedMetadata
        typedMetadata = kvs
        var index: [String: Int] = [:]
        var meta = Metadata()
        for (i, kv) in kvs.enumerated() {
            index[kv.key] = i
            meta[kv.key] = kv.value.metadataValue
        }
        typedIndex = index
        metadata = meta
        var all: [TensorInfo] = []
        for (i, part) in parts.enumerated() {
            for var info in part.tensors {
                info.fileIndex = i
                all.append(info)
            }
        }
        tensors = all
    }

    /// The typed value of `key`.
    public func value(_ key: String) -> GGUFValue? {
        typedIndex[key].map { typedMetadata[$0].value }
    }

    /// A zero-copy view of the tensor's bytes.
    ///
    /// - Throws: `.unknownDType` naming the tensor and its type code when the type is unknown.
    public func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard tensor.dtype != .unknown else { throw FormatError.unknownTensorType(tensor, in: self) }
        guard mappings.indices.contains(tensor.fileIndex), let offset = tensor.fileOffset,
            mappings[tensor.fileIndex].contains(offset: offset, length: tensor.byteCount)
        else {
            throw FormatError(.tensorNotFound, "tensor is not part of this file", path: path, tensorName: tensor.name)
        }
        let file = mappings[tensor.fileIndex]
        try file.checkNotShrunk(tensorName: tensor.name)
        return TensorStorage(file: file, range: offset..<offset + tensor.byteCount)
    }
}

/// One GGUF file parsed and checked: header, metadata, tensor infos placed in its data section.
struct GGUFPart {
    /// The file's mapping.
    var file: MappedFile
    /// GGUF version (2 or 3).
    var version: UInt32
    /// Data alignment in bytes.
    var alignment: Int
    /// Absolute offset of the data section.
    var dataOffset: Int
    /// Metadata with exact GGUF types, in file order.
    var typedMetadata: [(key: String, value: GGUFValue)]
    /// Tensors in file order; `fileOffset` absolute in this file.
    var tensors: [TensorInfo]

    /// Parses and validates `file`.
    init(file: MappedFile) throws(FormatError) {
        self.file = file
        let path = file.path
        var reader = ByteReader(file: file, context: "GGUF")
        let head = try GGUFParser.header(&reader)
        version = head.version
        var parser = GGUFParser(reader: reader)
        typedMetadata = try parser.metadata(count: head.kvCount)
        alignment = try GGUFParser.alignment(typedMetadata.first { $0.key == "general.alignment" }?.value, path: path)
        let infos = try parser.tensorInfos(count: head.tensorCount, alignment: alignment)
        let (aligned, overflow) = parser.reader.offset.addingReportingOverflow((alignment - parser.reader.offset % alignment) % alignment)
        guard !overflow, aligned <= file.count || infos.isEmpty else {
            throw .truncated("GGUF data section", at: parser.reader.offset, needed: alignment, available: parser.reader.remaining, path: path)
        }
        dataOffset = aligned
        tensors = try GGUFParser.placeTensors(infos, dataOffset: aligned, fileSize: file.count, path: path)
    }

    /// The typed value of `key`.
    func value(_ key: String) -> GGUFValue? {
        typedMetadata.first { $0.key == key }?.value
    }
}
