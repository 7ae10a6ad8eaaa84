import WeightKitCore
import WeightKitFormats
import WeightKitGraph
import WeightKitTokenizer

/// `convert` between GGUF and Hugging Face: glue between the GGUF format, the graph layer's
/// naming/permutation/config tables and the safetensors writer.
extension WeightKitCommand.Convert {
    /// GGUF → HF folder (or one safetensors file): HF names, Q/K un-permuted, blocks dequantized
    /// to `dtype`; a folder also gets config.json, tokenizer.json and tokenizer_config.json.
    static func ggufToHuggingFace(input: String, output: String, target: TensorFormat, dtype: DType, shardSize: Int?) throws -> WriteReport {
        let file = try GGUFFile(path: input)
        let plan = try GGUFConversion.toHuggingFace(tensors: file.tensors, ggufMetadata: file.metadata)
        if plan.family == nil {
            let arch = file.metadata["general.architecture"]?.stringValue ?? "(none)"
            Console.error("weightkit: warning: architecture \(arch) has no Hugging Face mapping; tensor names kept, no config.json")
        } else if !plan.unmapped.isEmpty {
            Console.error("weightkit: warning: kept GGUF names for \(plan.unmapped.joined(separator: ", "))")
        }
        let source = TransformedTensorSource(base: file, entries: plan.entries)
        let payloads = try source.tensors.map { t in
            try TensorPayload(source: source, input: t, dtype: t.dtype.isFloatingPoint ? dtype : nil)
        }
        let options = WriteOptions(shardSize: shardSize, progress: { done, total in Console.progress("writing tensors", done, total) })
        var report = try FormatRegistry.write(
            payloads, metadata: Metadata(strings: [("format", "pt")]), to: output, format: target, options: options)
        if target == .huggingFace, let family = plan.family {
            report.files += try writeSideFiles(file: file, family: family, folder: output, dtype: dtype)
        }
        return report
    }

    /// config.json, generation_config.json, tokenizer.json, tokenizer_config.json from GGUF metadata.
    static func writeSideFiles(file: GGUFFile, family: ModelFamily, folder: String, dtype: DType) throws -> [String] {
        let vocabRows = file.tensor(named: "token_embd.weight")?.shape.dims.first
        let config = GGUFConfig.hfConfig(
            ggufMetadata: file.metadata, family: family, tensorNames: Set(file.tensors.map(\.name)),
            vocabularyRows: vocabRows, dtype: dtype)
        var files: [(String, JSONValue)] = [("config.json", .object(config))]
        var generation = JSONObject()
        for key in ["bos_token_id", "eos_token_id", "pad_token_id"] { if let v = config[key] { generation.set(key, v) } }
        files.append(("generation_config.json", .object(generation)))
        if let tokenizer = GGUFTokenizer.tokenizerJSON(ggufMetadata: file.metadata) {
            files.append(("tokenizer.json", tokenizer))
            let context = config["max_position_embeddings"]?.int ?? config["n_positions"]?.int
            files.append(("tokenizer_config.json", GGUFTokenizer.tokenizerConfig(ggufMetadata: file.metadata, contextLength: context)))
        } else if file.metadata["tokenizer.ggml.model"] != nil {
            Console.error("weightkit: warning: only byte-level BPE (gpt2) GGUF tokenizers convert to tokenizer.json; none written")
        }
        var written: [String] = []
        for (name, json) in files {
            let out = try OutputFile(path: joinPath(folder, name))
            try out.write(JSONWriter.serialize(json, indent: 2) + "\n")
            try out.commit()
            written.append(out.path)
        }
        return written
    }

    /// GGUF → GGUF: block types GGUF output cannot hold (q5_*, K types) are dequantized to f32,
    /// `dtype` casts 2-D float weights; metadata keeps its exact types.
    static func ggufToGGUF(input: String, output: String, dtype: DType?) throws -> WriteReport {
        let file = try GGUFFile(path: input)
        let entries = try file.tensors.map { t in
            let decode = t.dtype.isQuantized && !GGMLType.writable.contains(t.dtype)
            return try TransformedTensorSource.entry(input: t, name: t.name, steps: decode ? [.dequantize] : [])
        }
        let source = TransformedTensorSource(base: file, entries: entries)
        let payloads = try source.tensors.map { t in
            let cast = t.dtype.isFloatingPoint && t.shape.rank > 1 ? dtype : nil
            return try TensorPayload(source: source, input: t, dtype: cast)
        }
        let hints = Dictionary(file.typedMetadata, uniquingKeysWith: { a, _ in a })
        return try GGUFWriter.write(payloads, metadata: file.metadata, typedHints: hints, to: output)
    }

    /// HF folder → GGUF v3: GGUF names, Q/K permuted, floats as `dtype` (1-D tensors stay f32,
    /// as llama.cpp's converter keeps norms), hyperparameters and tokenizer keys.
    static func huggingFaceToGGUF(input: String, output: String, dtype requested: DType?) throws -> WriteReport {
        let (source, metadata) = try huggingFaceGGUFSource(input: input, fileType: requested)
        let payloads = try source.tensors.map { t throws -> TensorPayload in
            guard t.dtype.isFloatingPoint || GGMLType.writable.contains(t.dtype) else {
                throw FormatError(.unsupportedDType, "GGUF output cannot hold \(t.dtype.shortName)", path: input, tensorName: t.name)
            }
            var dtype = requested ?? (GGMLType.writable.contains(t.dtype) ? t.dtype : .float32)
            if t.shape.rank <= 1, !dtype.isQuantized { dtype = .float32 }
            return try TensorPayload(source: source, input: t, dtype: t.dtype.isQuantized ? nil : dtype)
        }
        let options = WriteOptions(progress: { done, total in Console.progress("writing tensors", done, total) })
        return try GGUFWriter.write(payloads, metadata: metadata, to: output, options: options)
    }

    /// An HF folder's tensors under GGUF names (Q/K permuted), with the GGUF metadata that
    /// llama.cpp needs: hyperparameters, `general.file_type` from `fileType` (else the first
    /// matrix's dtype), and tokenizer keys. Shared by `convert` and `quantize`.
    static func huggingFaceGGUFSource(input: String, fileType: DType?) throws -> (TransformedTensorSource, Metadata) {
        guard FormatDetector.kind(of: input) == .directory else {
            throw FormatError(
                .unsupported, "GGUF output needs a model folder with config.json (architecture and hyperparameters)", path: input)
        }
        let folder = try HuggingFaceFolder(path: input)
        guard let config = folder.config else {
            throw FormatError(.unsupported, "GGUF output needs config.json beside the weights", path: input)
        }
        let plan = try GGUFConversion.toGGUF(tensors: folder.tensors.tensors, hfConfig: config)
        if !plan.unmapped.isEmpty {
            Console.error("weightkit: warning: no GGUF name for \(plan.unmapped.joined(separator: ", ")); written as is")
        }
        let source = TransformedTensorSource(base: folder.tensors, entries: plan.entries)
        let name = input.split(separator: "/").last.map(String.init)
        let firstMatrix = source.tensors.first { $0.shape.rank > 1 }?.dtype
        let fileType = fileType ?? (firstMatrix.map { GGMLType.writable.contains($0) ? $0 : .float32 } ?? .float32)
        var metadata = try GGUFConfig.ggufMetadata(hfConfig: config, family: plan.family!, name: name, fileType: fileType)
        if folder.sideFiles.contains("tokenizer.json") {
            let tokenizer = try HuggingFaceFolder.readJSONObject(joinPath(input, "tokenizer.json"))
            let tokConfig = folder.sideFiles.contains("tokenizer_config.json")
                ? try HuggingFaceFolder.readJSONObject(joinPath(input, "tokenizer_config.json")) : nil
            if let keys = GGUFTokenizer.ggufMetadata(tokenizerJSON: tokenizer, tokenizerConfig: tokConfig, config: config) {
                for (k, v) in keys.entries { metadata[k] = v }
            } else {
                Console.error("weightkit: warning: tokenizer.json is not byte-level BPE; no tokenizer keys written")
            }
        }
        return (source, metadata)
    }
}
