import WeightKitCore
import WeightKitFormats
import WeightKitGraph
import WeightKitTokenizer

/// GGUF ↔ Hugging Face: glue between the GGUF format, the graph layer's naming, permutation
/// and config tables, the tokenizer translation and the safetensors writer.
extension Converter {
    /// An HF folder's tensors under GGUF names (Q/K permuted) with the GGUF metadata llama.cpp
    /// needs, and what could not be carried over.
    struct GGUFSource {
        /// The tensors, renamed, permuted and stacked as GGUF stores them.
        var source: GGUFTensorSource
        /// `general.*`, `{arch}.*` and tokenizer keys.
        var metadata: Metadata
        /// Tensors without a GGUF name, a tokenizer without GGUF keys.
        var warnings: [ConversionWarning]
        /// Exact GGUF types where the metadata value alone does not say them: an empty
        /// `tokenizer.ggml.merges` is an array of strings, as llama.cpp reads it.
        var typedHints: [String: GGUFValue] = ["tokenizer.ggml.merges": .array(elementType: .string, [])]
        /// The family whose name table mapped the tensors.
        var family: ModelFamily? = nil
    }

    /// The GGUF side of a conversion: GGUF → HF, HF → GGUF or GGUF → GGUF.
    static func convertGGUF(
        input: String, format: TensorFormat, output: String, target: TensorFormat, options: ConversionOptions
    ) throws -> ConversionReport {
        if format != .gguf {
            return try huggingFaceToGGUF(input: input, format: format, output: output, options: options)
        }
        if target == .gguf {
            return try ggufToGGUF(input: input, output: output, options: options)
        }
        if target == .wkp {
            // One tensor picked out (--tensor) is a tensor set, not a model.
            guard options.tensor == nil else { return try convertTensors(input: input, format: format, output: output, target: target, options: options) }
            return try ggufToPack(input: input, output: output, options: options)
        }
        return try ggufToHuggingFace(input: input, output: output, target: target, options: options)
    }

    /// GGUF → HF folder (or one safetensors file): HF names, Q/K un-permuted, blocks dequantized
    /// to `options.dtype` (default f32); a folder also gets config.json, generation_config.json,
    /// tokenizer.json and tokenizer_config.json.
    static func ggufToHuggingFace(input: String, output: String, target: TensorFormat, options: ConversionOptions) throws -> ConversionReport {
        let dtype = options.dtype ?? .float32
        let file = try GGUFFile(path: input)
        let plan = try GGUFConversion.toHuggingFace(tensors: file.tensors, ggufMetadata: file.metadata)
        var warnings: [ConversionWarning] = []
        if plan.family == nil {
            warnings.append(.unknownArchitecture(file.metadata["general.architecture"]?.stringValue ?? "(none)"))
        } else if !plan.unmapped.isEmpty {
            warnings.append(.unmapped(plan.unmapped, toGGUF: false))
        }
        let source = plan.source(base: file)
        let payloads = try source.tensors.map { t in
            try TensorPayload(source: source, input: t, dtype: t.dtype.isFloatingPoint ? dtype : nil)
        }
        let writeOptions = WriteOptions(shardSize: options.shardSize, progress: options.progress)
        let written = try FormatRegistry.write(
            payloads, metadata: Metadata(strings: [("format", "pt")]), to: output, format: target, options: writeOptions)
        var files = written.files
        if target == .huggingFace, let family = plan.family {
            files += try writeSideFiles(file: file, family: family, folder: output, dtype: dtype, warnings: &warnings)
        }
        return ConversionReport(
            inputFormat: .gguf, outputFormat: target, files: files, tensorCount: payloads.count, bytesWritten: written.bytesWritten,
            warnings: warnings, seconds: 0)
    }

    /// config.json, generation_config.json, tokenizer.json, tokenizer_config.json from GGUF
    /// metadata; returns the files written.
    static func writeSideFiles(
        file: GGUFFile, family: ModelFamily, folder: String, dtype: DType, warnings: inout [ConversionWarning]
    ) throws -> [String] {
        let config = try hfConfig(of: file, family: family, dtype: dtype)
        var files: [(String, JSONValue)] = [("config.json", .object(config))]
        var generation = JSONObject()
        for key in ["bos_token_id", "eos_token_id", "pad_token_id"] { if let v = config[key] { generation.set(key, v) } }
        files.append(("generation_config.json", .object(generation)))
        if file.metadata["tokenizer.ggml.model"] != nil {
            do {
                files.append(("tokenizer.json", try GGUFTokenizer.tokenizerJSON(validating: file.metadata)))
                let context = config["max_position_embeddings"]?.int ?? config["n_positions"]?.int
                files.append(("tokenizer_config.json", GGUFTokenizer.tokenizerConfig(ggufMetadata: file.metadata, contextLength: context)))
            } catch {
                warnings.append(ConversionWarning(.tokenizerNotConverted, "no tokenizer.json written: \(error)"))
            }
        }
        return try files.map { name, json in try ModelFiles.writeJSON(json, to: joinPath(folder, name)) }
    }

    /// GGUF → GGUF: block types GGUF output cannot hold (q5_*, K types) are dequantized to f32,
    /// `options.dtype` casts 2-D float weights; metadata keeps its exact types. A shard set reads
    /// as one model (so this merges one), and `options.shardSize` writes one.
    static func ggufToGGUF(input: String, output: String, options: ConversionOptions) throws -> ConversionReport {
        let dtype = options.dtype
        let file = try GGUFFile(path: input)
        let source = try decodingBlocks(file, keeping: GGMLType.writable)
        let payloads = try source.tensors.map { t in
            let cast = t.dtype.isFloatingPoint && t.shape.rank > 1 ? dtype : nil
            return try TensorPayload(source: source, input: t, dtype: cast)
        }
        let hints = Dictionary(file.typedMetadata, uniquingKeysWith: { a, _ in a })
        try checkShardPaths(payloads, output: output, inputs: file.files, options: options)
        let written = try GGUFWriter.write(
            payloads, metadata: file.metadata, typedHints: hints, to: output, options: ggufWriteOptions(options))
        return ConversionReport(
            inputFormat: .gguf, outputFormat: .gguf, files: written.files, tensorCount: payloads.count,
            bytesWritten: written.bytesWritten, warnings: overSizeWarnings(payloads, options), seconds: 0)
    }

    /// HF folder, or a model pack (its config inside) → GGUF v3: GGUF names, Q/K permuted, floats
    /// as `dtype` (1-D tensors stay f32, as llama.cpp's converter keeps norms), hyperparameters
    /// and tokenizer keys.
    static func huggingFaceToGGUF(input: String, format: TensorFormat, output: String, options: ConversionOptions) throws -> ConversionReport {
        let requested = options.dtype
        let gguf = format == .wkp
            ? try ggufSource(pack: PackReader(path: input), fileType: requested)
            : try ggufSource(huggingFaceFolder: input, fileType: requested)
        let source = gguf.source
        let payloads = try source.tensors.map { t throws -> TensorPayload in
            guard t.dtype.isFloatingPoint || GGMLType.writable.contains(t.dtype) else {
                throw FormatError(.unsupportedDType, "GGUF output cannot hold \(t.dtype.shortName)", path: input, tensorName: t.name)
            }
            var dtype = requested ?? (GGMLType.writable.contains(t.dtype) ? t.dtype : .float32)
            if t.shape.rank <= 1, !dtype.isQuantized { dtype = .float32 }
            return try TensorPayload(source: source, input: t, dtype: t.dtype.isQuantized ? nil : dtype)
        }
        try checkShardPaths(payloads, output: output, inputs: source.files, options: options)
        let written = try GGUFWriter.write(
            payloads, metadata: gguf.metadata, typedHints: gguf.typedHints, to: output, options: ggufWriteOptions(options))
        return ConversionReport(
            inputFormat: format == .wkp ? .wkp : .huggingFace, outputFormat: .gguf, files: written.files, tensorCount: payloads.count,
            bytesWritten: written.bytesWritten, warnings: gguf.warnings + overSizeWarnings(payloads, options), seconds: 0)
    }

    /// `OutputCheck` on each shard a sharded GGUF output would write (the output path itself was
    /// checked before reading): none may be an input, none may exist without `overwrite`.
    static func checkShardPaths(_ payloads: [TensorPayload], output: String, inputs: [String], options: ConversionOptions) throws {
        let limit = try GGUFShardLimit(ggufWriteOptions(options), path: output)
        let paths = GGUFWriter.outputPaths(for: payloads.map(\.info), path: output, limit: limit)
        for path in paths where path != output {
            try OutputCheck.check(path, inputs: inputs, overwrite: options.overwrite)
        }
    }

    /// The writer options of a GGUF output: the shard limit and the progress callback.
    static func ggufWriteOptions(_ options: ConversionOptions) -> WriteOptions {
        var write = WriteOptions(shardSize: options.shardSize, progress: options.progress)
        write.shardMaxTensors = options.shardMaxTensors
        return write
    }

    /// One warning naming the tensors larger than `options.shardSize` (32-byte padded, as
    /// llama-gguf-split counts): each is a shard of its own, over the size asked for.
    static func overSizeWarnings(_ payloads: [TensorPayload], _ options: ConversionOptions) -> [ConversionWarning] {
        guard let size = options.shardSize else { return [] }
        let alignment = GGUFWriter.alignment
        let over = payloads.map(\.info).filter { ($0.byteCount + alignment - 1) / alignment * alignment > size }.map(\.name)
        guard !over.isEmpty else { return [] }
        return [ConversionWarning(
            .shardOverSize, "\(over.count) tensor(s) exceed the shard size \(formatBytes(size)) and got a shard of their own: \(over.prefix(3).joined(separator: ", "))\(over.count > 3 ? ", …" : "")",
            names: over)]
    }

    /// An HF folder's tensors under GGUF names (Q/K permuted), with the GGUF metadata that
    /// llama.cpp needs: hyperparameters, `general.file_type` from `fileType` (else the first
    /// matrix's dtype), and tokenizer keys. Shared by conversion and quantization.
    static func ggufSource(huggingFaceFolder input: String, fileType: DType?) throws -> GGUFSource {
        guard FormatDetector.kind(of: input) == .directory else {
            throw FormatError(
                .unsupported, "GGUF output needs a model folder with config.json (architecture and hyperparameters)", path: input)
        }
        let folder = try HuggingFaceFolder(path: input)
        guard let folderConfig = folder.config else {
            throw FormatError(.unsupported, "GGUF output needs config.json beside the weights", path: input)
        }
        let name = input.split(separator: "/").last.map(String.init)
        return try ggufSource(tensors: folder.tensors, config: folderConfig, name: name, input: input, fileType: fileType) { config, warnings in
            try tokenizerKeys(folder: folder, config: config, warnings: &warnings)
        }
    }

    /// A model pack's tensors (Hugging Face names, as `weightkit convert FOLDER out.wkp` writes
    /// them) under GGUF names, as `ggufSource(huggingFaceFolder:fileType:)` gives a folder's:
    /// the pack's config gives the architecture and hyperparameters, its tokenizer.json with its
    /// tokenizer_config and chat template (pack metadata) the tokenizer keys (a pack holds no
    /// tokenizer.model, so keys llama.cpp's converter reads from that are not written).
    ///
    /// - Throws: `FormatError` `.unsupported` when the pack holds no config.
    static func ggufSource(pack: PackReader, fileType: DType?) throws -> GGUFSource {
        let input = pack.files[0]
        guard let packConfig = pack.config else {
            throw FormatError(
                .unsupported, "GGUF names need the model's architecture, and this pack holds no config (pack a model folder with config.json: weightkit convert FOLDER out.wkp)",
                path: input)
        }
        var name = input.split(separator: "/").last.map(String.init)
        if let n = name, n.hasSuffix(".wkp") { name = String(n.dropLast(4)) }
        return try ggufSource(tensors: pack, config: packConfig, name: name, input: input, fileType: fileType) { config, warnings in
            guard let text = try pack.tokenizerJSON() else {
                warnings.append(ConversionWarning(.tokenizerNotConverted, "the pack carries no tokenizer.json; no tokenizer keys written"))
                return nil
            }
            let json: JSONObject
            do {
                guard let object = try JSON.parse(text).object else {
                    throw FormatError(.invalidHeader, "the pack's tokenizer.json is not a JSON object", path: input)
                }
                json = object
            } catch let error as JSONParseError {
                throw FormatError(.invalidHeader, "the pack's tokenizer.json: \(error)", path: input)
            }
            // tokenizer_config.json and the chat template travel as pack metadata (ModelFiles).
            let files = GGUFTokenizer.FolderFiles(
                tokenizerJSON: json, tokenizerConfig: try ModelFiles.tokenizerConfig(of: pack), config: packConfig, addedTokens: nil)
            if let keys = try GGUFTokenizer.ggufMetadata(files: files) { return keys }
            warnings.append(ConversionWarning(.tokenizerNotConverted, "tokenizer.json is neither byte-level BPE nor WordPiece; no tokenizer keys written"))
            return nil
        }
    }

    /// `tensors` with Hugging Face names and their `config.json` (`folderConfig`) under GGUF
    /// names, with the metadata; `tokenizerKeys` gives the tokenizer keys for the language
    /// model's config.
    private static func ggufSource(
        tensors: any TensorSource, config folderConfig: JSONObject, name: String?, input: String, fileType: DType?,
        tokenizerKeys: (JSONObject, inout [ConversionWarning]) throws -> Metadata?
    ) throws -> GGUFSource {
        let config = MultimodalLayout.languageModelConfig(folderConfig)
        let written = try GGUFConfig.written(hfConfig: config, name: name)
        let plan = try GGUFConversion.toGGUF(tensors: tensors.tensors, hfConfig: config, extra: written.tensors)
        var warnings: [ConversionWarning] = plan.unmapped.isEmpty ? [] : [.unmapped(plan.unmapped, toGGUF: true)]
        let vision = plan.dropped.filter(MultimodalLayout.isVision)
        if !vision.isEmpty {
            warnings.append(ConversionWarning(
                .visionTowerDropped, "the image side (\(vision.count) tensors) is left out: the GGUF holds the language model, as llama.cpp's does (its vision tower goes to a separate mmproj file)",
                names: vision))
        }
        for lost in written.lost {
            warnings.append(ConversionWarning(.metadataDropped, "llama.cpp's GGUF cannot carry \(lost)"))
        }
        let source = plan.source(base: tensors)
        let firstMatrix = source.tensors.first { $0.shape.rank > 1 }?.dtype
        let fileType = fileType ?? (firstMatrix.map { GGMLType.writable.contains($0) ? $0 : .float32 } ?? .float32)
        var metadata = written.metadata
        if let code = GGMLType.fileType(of: fileType) { metadata["general.file_type"] = .uint(UInt64(code)) }
        if metadata["general.architecture"]?.stringValue == "bert" {
            // llama.cpp's pooling_type, from sentence-transformers' files as its converter reads them.
            let settings = try EmbeddingSettings.read(path: input)
            guard let code = settings.pooling.llamaCppPoolingType else {
                throw FormatError(.unsupported, "\(settings.pooling.rawValue) pooling has no llama.cpp pooling_type (mean, cls, last)", path: input)
            }
            metadata["bert.pooling_type"] = .uint(UInt64(code))
            if let length = settings.maxSequenceLength, length < written.contextLength {
                warnings.append(ConversionWarning(.metadataDropped, "llama.cpp's GGUF cannot carry max_seq_length \(length): texts are read up to the model's \(written.contextLength) tokens (embed --max-length \(length) cuts them as sentence-transformers does)"))
            }
            if !settings.normalize {
                warnings.append(ConversionWarning(.metadataDropped, "llama.cpp's GGUF cannot carry \"no normalisation\": embeddings from it are L2-normalised"))
            }
        }
        if let keys = try tokenizerKeys(config, &warnings) {
            for (k, v) in keys.entries { metadata[k] = v }
        }
        return GGUFSource(source: source, metadata: metadata, warnings: warnings, family: plan.family)
    }

    /// The `tokenizer.ggml.*` keys for a folder, chosen as llama.cpp's converter chooses: the
    /// SentencePiece tokenizer.model for the Llama family (Llama 2, Mistral, Mixtral) when the
    /// folder has one, else tokenizer.json (byte-level BPE or WordPiece). nil, with a warning,
    /// when neither applies.
    static func tokenizerKeys(folder: HuggingFaceFolder, config: JSONObject, warnings: inout [ConversionWarning]) throws -> Metadata? {
        func json(_ name: String) throws -> JSONObject? {
            folder.sideFiles.contains(name) ? try HuggingFaceFolder.readJSONObject(joinPath(folder.path, name)) : nil
        }
        let folderConfig = folder.config ?? config  // gguf-py reads the whole config.json for special ids
        let architecture = folderConfig["architectures"]?.array?.first?.string ?? ""
        var files = GGUFTokenizer.FolderFiles(
            tokenizerJSON: try json("tokenizer.json"), tokenizerConfig: try json("tokenizer_config.json"),
            config: folderConfig, addedTokens: try json("added_tokens.json"))
        if folder.sideFiles.contains("chat_template.jinja") {
            files.chatTemplateJinja = try TextFile.read(joinPath(folder.path, "chat_template.jinja"), cap: 16 << 20)
        } else if let templates = try json("chat_template.json") {
            files.chatTemplateJSON = templates["chat_template"]
        }
        if folder.sideFiles.contains("tokenizer.model"), GGUFTokenizer.sentencePieceArchitectures.contains(architecture) {
            let path = joinPath(folder.path, "tokenizer.model")
            let model: SentencePieceModel
            do { model = try SentencePieceModel(path: path) } catch { throw error.at(path: path) }
            do { return try GGUFTokenizer.ggufMetadata(sentencePiece: model, files: files) } catch { throw error.at(path: folder.path) }
        }
        guard files.tokenizerJSON != nil else { return nil }
        let keys: Metadata?
        do { keys = try GGUFTokenizer.ggufMetadata(files: files) } catch { throw error.at(path: joinPath(folder.path, "tokenizer.json")) }
        if let keys { return keys }
        warnings.append(ConversionWarning(.tokenizerNotConverted, "tokenizer.json is neither byte-level BPE nor WordPiece; no tokenizer keys written"))
        return nil
    }
}
