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

    /// The path as given.
    public let path: String
    /// The mapping every tensor view shares.
    public let file: MappedFile
    /// GGUF version (2 or 3).
    public let version: UInt32
    /// Data alignment in bytes (`general.alignment`, default 32).
    public let alignment: Int
    /// Absolute offset of the data section.
    public let dataOffset: Int
    /// Metadata with exact GGUF types, in file order.
    public let typedMetadata: [(key: String, value: GGUFValue)]
    /// Metadata as Core values, in file order.
    public let metadata: Metadata
    /// Tensors in file order; `fileOffset` is absolute.
    public let tensors: [TensorInfo]
    private let typedIndex: [String: Int]

    /// `gguf`.
    public var formatName: String { "gguf" }
    /// The one file.
    public var files: [String] { [path] }

    /// Opens and validates `path`.
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// Validates an already mapped file.
    public init(file: MappedFile) throws(FormatError) {
        self.file = file
        self.path = file.path
        var reader = ByteReader(file: file, context: "GGUF")
        let head = try GGUFParser.header(&reader)
        version = head.version
        var parser = GGUFParser(reader: reader)
        let kvs = try parser.metadata(count: head.kvCount)
        typedMetadata = kvs
        var index: [String: Int] = [:]
        var meta = Metadata()
        for (i, kv) in kvs.enumerated() {
            index[kv.key] = i
            meta[kv.key] = kv.value.metadataValue
        }
        typedIndex = index
        metadata = meta
        alignment = try GGUFParser.alignment(kvs.first { $0.key == "general.alignment" }?.value, path: file.path)
        let infos = try parser.tensorInfos(count: head.tensorCount, alignment: alignment)
        let (aligned, overflow) = parser.reader.offset.addingReportingOverflow((alignment - parser.reader.offset % alignment) % alignment)
        guard !overflow, aligned <= file.count || infos.isEmpty else {
            throw .truncated("GGUF data section", at: parser.reader.offset, needed: alignment, available: parser.reader.remaining, path: path)
        }
        dataOffset = aligned
        tensors = try GGUFParser.placeTensors(infos, dataOffset: aligned, fileSize: file.count, path: file.path)
    }

    /// The typed value of `key`.
    public func value(_ key: String) -> GGUFValue? {
        typedIndex[key].map { typedMetadata[$0].value }
    }

    /// A zero-copy view of the tensor's bytes.
    ///
    /// - Throws: `.unknownDType` naming the tensor and its type code when the type is unknown.
    public func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard tensor.dtype != .unknown else { throw FormatError.unknownTensorType(tensor, path: path) }
        guard let offset = tensor.fileOffset, file.contains(offset: offset, length: tensor.byteCount) else {
            throw FormatError(.tensorNotFound, "tensor is not part of this file", path: path, tensorName: tensor.name)
        }
        try file.checkNotShrunk(tensorName: tensor.name)
        return TensorStorage(file: file, range: offset..<offset + tensor.byteCount)
    }
}
