import WeightKitCore

/// Options every writer understands; a writer ignores what its format cannot use.
public struct WriteOptions: Sendable {
    /// Largest shard in bytes (safetensors; GGUF as llama-gguf-split counts it): nil writes one file.
    public var shardSize: Int?
    /// At most this many tensors per GGUF shard (llama-gguf-split's `--split-max-tensors`),
    /// instead of `shardSize`; other formats refuse it.
    public var shardMaxTensors: Int? = nil
    /// Deflate tensor data where the format allows it (npz, wkp).
    public var compress: Bool
    /// Called with (tensors done, total) as writing progresses.
    public var progress: (@Sendable (Int, Int) -> Void)?
    /// The model's architecture config, for formats that carry one (wkp).
    public var config: JSONObject? = nil
    /// The tokenizer.json text, for formats that carry one (wkp).
    public var tokenizerJSON: String? = nil

    /// Creates options.
    public init(shardSize: Int? = nil, compress: Bool = false, progress: (@Sendable (Int, Int) -> Void)? = nil) {
        self.shardSize = shardSize
        self.compress = compress
        self.progress = progress
    }
}

/// What a writer produced.
public struct WriteReport: Sendable {
    /// Files written, in order.
    public var files: [String]
    /// Total bytes written.
    public var bytesWritten: Int
    /// Metadata keys the target format could not hold (reported, not silently lost).
    public var droppedMetadata: [String]

    /// Creates a report.
    public init(files: [String], bytesWritten: Int, droppedMetadata: [String] = []) {
        self.files = files
        self.bytesWritten = bytesWritten
        self.droppedMetadata = droppedMetadata
    }
}

/// Opens readers and picks writers by format: the one place formats plug in.
public enum FormatRegistry {
    /// Opens `path` as a tensor source, detecting the format unless `format` is given.
    public static func open(path: String, format: TensorFormat? = nil) throws -> any TensorSource {
        let resolved = try format ?? FormatDetector.detect(path: path)
        switch resolved {
        case .safetensors: return try SafetensorsFile(path: path)
        case .safetensorsIndex: return try ShardedSafetensors(indexPath: path)
        case .huggingFace: return try HuggingFaceFolder(path: path).tensors
        case .npy: return try NPYFile(path: path)
        case .npz: return try NPZArchive(path: path)
        case .npyFolder: return try NPYFolder(path: path)
        case .wkp: return try PackReader(path: path)
        case .gguf: return try GGUFFile(path: path)
        }
    }

    /// Writes `tensors` with `metadata` to `path` as `format`.
    public static func write(
        _ tensors: [TensorPayload], metadata: Metadata, to path: String, format: TensorFormat,
        options: WriteOptions = WriteOptions()
    ) throws -> WriteReport {
        if options.shardMaxTensors != nil, format != .gguf {
            throw FormatError(.unsupported, "shards of at most N tensors are written for GGUF only, not \(format.rawValue)", path: path)
        }
        switch format {
        case .safetensors:
            if options.shardSize != nil {
                return try SafetensorsWriter.writeSharded(tensors, metadata: metadata, folder: path, options: options)
            }
            return try SafetensorsWriter.write(tensors, metadata: metadata, to: path, options: options)
        case .huggingFace, .safetensorsIndex:
            return try SafetensorsWriter.writeSharded(tensors, metadata: metadata, folder: path, options: options)
        case .npy: return try NPYWriter.write(tensors, metadata: metadata, to: path, options: options)
        case .npz: return try NPZWriter.write(tensors, metadata: metadata, to: path, options: options)
        case .npyFolder: return try NPYFolderWriter.write(tensors, metadata: metadata, folder: path, options: options)
        case .wkp:
            return try PackWriter.write(tensors, metadata: metadata, to: path, options: options)
        case .gguf:
            // Keep exact GGUF value types when the tensors come from a GGUF file.
            let hints = (tensors.first?.source as? GGUFFile).map { Dictionary($0.typedMetadata, uniquingKeysWith: { a, _ in a }) }
            return try GGUFWriter.write(tensors, metadata: metadata, typedHints: hints ?? [:], to: path, options: options)
        }
    }

    /// The dtypes `format` can store (used to refuse a cast up front, before writing anything).
    public static func canStore(_ dtype: DType, in format: TensorFormat) -> Bool {
        switch format {
        case .safetensors, .safetensorsIndex, .huggingFace: return dtype.safetensorsName != nil
        case .npy, .npz, .npyFolder:
            return dtype.isInteger || dtype == .bool || [.float16, .float32, .float64].contains(dtype)
        case .gguf: return [.float32, .float16, .bfloat16, .q8_0, .q4_0, .q4_1].contains(dtype)
        case .wkp: return true
        }
    }
}
