import WeightKitCore
import WeightKitFormats

/// How `Converter.convert` reads its input and writes its output.
public struct ConversionOptions: Sendable {
    /// The input's format; nil detects it (magic bytes, then extension).
    public var inputFormat: TensorFormat?
    /// The output's format; nil takes it from the output path (its extension, or a folder for a
    /// path ending in `/` or naming an existing folder).
    public var outputFormat: TensorFormat?
    /// Cast floating tensors to this floating dtype (round-to-nearest-even); nil keeps each
    /// tensor's dtype (GGUF → Hugging Face: f32). Integer and bool tensors are never cast.
    public var dtype: DType?
    /// Deflate tensor data where the format allows it (npz, wkp).
    public var compress: Bool
    /// Split safetensors output into shards of at most this many bytes, with an index; GGUF
    /// output into a `llama-gguf-split` shard set (`OUT-00001-of-0000N.gguf`).
    public var shardSize: Int?
    /// Split GGUF output into shards of at most this many tensors, as `llama-gguf-split
    /// --split-max-tensors N` does (instead of `shardSize`; GGUF output only).
    public var shardMaxTensors: Int? = nil
    /// Write only the tensor with this name (needed to write a multi-tensor input as one .npy).
    public var tensor: String?
    /// Replace an existing output (never the input itself).
    public var overwrite: Bool
    /// Called with (tensors written, total) as writing progresses.
    public var progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?

    /// Creates options; the defaults detect the input format, take the output format from the
    /// path, keep dtypes and refuse to overwrite.
    public init(
        inputFormat: TensorFormat? = nil, outputFormat: TensorFormat? = nil, dtype: DType? = nil, compress: Bool = false,
        shardSize: Int? = nil, tensor: String? = nil, overwrite: Bool = false,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) {
        self.inputFormat = inputFormat
        self.outputFormat = outputFormat
        self.dtype = dtype
        self.compress = compress
        self.shardSize = shardSize
        self.tensor = tensor
        self.overwrite = overwrite
        self.progress = progress
    }
}

/// What `Converter.convert` wrote.
public struct ConversionReport: Sendable {
    /// The input's format (detected or given).
    public var inputFormat: TensorFormat
    /// The output's format.
    public var outputFormat: TensorFormat
    /// Files written, weights first, then side files (config.json, tokenizer files).
    public var files: [String]
    /// Tensors written.
    public var tensorCount: Int
    /// Bytes of tensor files written (side files not counted).
    public var bytesWritten: Int
    /// What was kept, dropped or left out on the way, for the caller to show.
    public var warnings: [ConversionWarning]
    /// Wall-clock seconds the conversion took.
    public var seconds: Double
}

/// Converts weights between formats and dtypes: one call from an input path to a complete output.
///
/// Tensors stream one at a time through dtype conversion into the writer, so memory stays at a
/// few MB whatever the model size, and the output appears only when complete. Between GGUF and
/// Hugging Face layouts the tensors are also renamed, llama.cpp's Q/K row permutation is applied
/// or undone, and the model's config and tokenizer are translated (`Converter+GGUF.swift`).
public enum Converter {
    /// Converts `input` (a file or model folder) into `output`.
    ///
    /// - GGUF → Hugging Face folder or .safetensors: Hugging Face names, Q/K un-permuted, blocks
    ///   dequantized to `dtype` (default f32); a folder also gets config.json, generation_config.json
    ///   and the tokenizer files.
    /// - Hugging Face folder → .gguf: GGUF names, Q/K permuted, hyperparameters and tokenizer keys
    ///   (`dtype` f32 or f16; 1-D tensors stay f32). GGUF → GGUF rewrites, decoding block types
    ///   GGUF output cannot hold.
    /// - GGUF → .wkp: a pack that runs as the GGUF runs (`Converter+Pack.swift`): Hugging Face
    ///   names and Q/K order, block types kept, config, tokenizer and chat template carried.
    /// - Anything else: the same tensors in the new format; a folder's config and tokenizer files
    ///   are copied (or put in a pack), with a cast recorded in `torch_dtype`.
    ///
    /// - Throws: `ConversionError` for a request that cannot be met (checked before writing),
    ///   `FormatError` for unreadable input or a dtype the output cannot store.
    public static func convert(input: String, output: String, options: ConversionOptions = ConversionOptions()) throws -> ConversionReport {
        let clock = ContinuousClock(), started = clock.now
        let target = try outputFormat(for: output, requested: options.outputFormat)
        if let dtype = options.dtype, !dtype.isFloatingPoint {
            throw ConversionError.invalidRequest("a cast must be to a floating dtype, not \(dtype.shortName)")
        }
        if options.shardMaxTensors != nil {
            guard target == .gguf else {
                throw ConversionError.invalidRequest("shards of at most N tensors are written for GGUF output only, not \(target.rawValue)", path: output)
            }
            // One mode at a time, at least one tensor a shard: the writer's own rules, checked before reading.
            do { _ = try GGUFShardLimit(ggufWriteOptions(options), path: output) } catch {
                throw ConversionError.invalidRequest(error.message, path: output)
            }
        }
        let format = try options.inputFormat ?? FormatDetector.detect(path: input)
        try OutputCheck.check(output, inputs: [input], overwrite: options.overwrite)
        var report: ConversionReport
        if format == .gguf && [.huggingFace, .safetensors, .gguf, .wkp].contains(target) || target == .gguf {
            report = try convertGGUF(input: input, format: format, output: output, target: target, options: options)
        } else {
            report = try convertTensors(input: input, format: format, output: output, target: target, options: options)
        }
        report.seconds = (clock.now - started).seconds
        return report
    }

    /// The format `output` is written in: `requested`, else what the path asks for (its
    /// extension, or a folder for a path ending in `/` or naming an existing folder).
    ///
    /// - Throws: `ConversionError` `.invalidRequest` when neither says.
    public static func outputFormat(for output: String, requested: TensorFormat? = nil) throws(ConversionError) -> TensorFormat {
        guard let target = requested ?? FormatDetector.outputFormat(for: output) else {
            throw .invalidRequest("cannot tell the output format from '\(output)': give it an extension (.safetensors) or pass --to", path: output)
        }
        return target
    }

    /// A conversion where both sides hold the same tensor names: only the format and dtypes change.
    static func convertTensors(
        input: String, format: TensorFormat, output: String, target: TensorFormat, options: ConversionOptions
    ) throws -> ConversionReport {
        let cast = options.dtype
        var folder: HuggingFaceFolder?
        var source: any TensorSource
        if format == .huggingFace {
            folder = try HuggingFaceFolder(path: input)
            source = folder!.tensors
        } else {
            source = try FormatRegistry.open(path: input, format: format)
        }
        if cast != nil {
            // A cast also dequantizes the block-quantized tensors the output cannot hold (.npy,
            // .npz, safetensors): decoded to f32 one tensor at a time, then cast like the rest.
            let kept = Set(source.tensors.map(\.dtype).filter { FormatRegistry.canStore($0, in: target) })
            source = try decodingBlocks(source, keeping: kept)
        }
        try OutputCheck.check(output, inputs: source.files, overwrite: options.overwrite)
        let payloads = try plan(source: source, cast: cast, target: target, output: output, only: options.tensor)
        if target == .npy, payloads.count != 1 {
            throw ConversionError.invalidRequest(
                "a .npy file holds one tensor, but the input has \(payloads.count); pick one with --tensor NAME", path: output)
        }
        var writeOptions = WriteOptions(shardSize: options.shardSize, compress: options.compress, progress: options.progress)
        if target == .wkp { try ModelFiles.add(to: &writeOptions, folder: folder, source: source, cast: cast) }
        var metadata = source.metadata
        if target == .wkp, let folder {
            for (key, value) in try ModelFiles.packMetadata(of: folder).entries { metadata[key] = value }
        }
        let written = try FormatRegistry.write(payloads, metadata: metadata, to: output, format: target, options: writeOptions)
        var files = written.files
        if let folder, target == .huggingFace || (target == .safetensors && options.shardSize != nil) {
            files += try ModelFiles.copySideFiles(from: folder, to: output, cast: cast)
        }
        if let pack = source as? PackReader, target == .huggingFace {
            files += try ModelFiles.write(of: pack, to: output, cast: cast)
        }
        return ConversionReport(
            inputFormat: format, outputFormat: target, files: files, tensorCount: payloads.count, bytesWritten: written.bytesWritten,
            warnings: ConversionWarning.metadataDropped(written.droppedMetadata, format: target.rawValue), seconds: 0)
    }

    /// One payload per input tensor (or only the one named `only`): floating tensors cast to
    /// `cast`, everything else as is.
    ///
    /// - Throws: `FormatError` `.tensorNotFound` for an unknown `only`, `.unsupportedDType` when
    ///   `target` cannot store a tensor's output dtype.
    public static func plan(
        source: any TensorSource, cast: DType?, target: TensorFormat, output: String, only: String? = nil
    ) throws -> [TensorPayload] {
        var tensors = source.tensors
        if let only {
            guard let picked = source.tensor(named: only) else {
                throw FormatError(.tensorNotFound, "no tensor named \"\(only)\" in the input", path: source.files.first, tensorName: only)
            }
            tensors = [picked]
        }
        return try tensors.map { t in
            guard t.dtype != .unknown else { throw FormatError.unknownTensorType(t, in: source) }
            let dtype = (cast != nil && t.dtype.isFloatingPoint) ? cast! : t.dtype
            guard FormatRegistry.canStore(dtype, in: target) else {
                throw FormatError(
                    .unsupportedDType, "\(target.rawValue) cannot store \(dtype.shortName); pass --dtype f32 or --dtype f16",
                    path: output, tensorName: t.name)
            }
            return try TensorPayload(source: source, input: t, dtype: dtype)
        }
    }

    /// `source` with every block-quantized tensor whose type is not in `kept` decoded to f32 (one
    /// tensor at a time, when read); `source` itself when there is nothing to decode.
    public static func decodingBlocks(_ source: any TensorSource, keeping kept: Set<DType> = []) throws -> any TensorSource {
        func decodes(_ dtype: DType) -> Bool { dtype.isQuantized && !kept.contains(dtype) }
        guard source.tensors.contains(where: { decodes($0.dtype) }) else { return source }
        let entries = try source.tensors.map { t in
            try TransformedTensorSource.entry(input: t, name: t.name, steps: decodes(t.dtype) ? [.dequantize] : [])
        }
        return TransformedTensorSource(base: source, entries: entries)
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
