import WeightKitCore
import WeightKitFormats
import WeightKitGraph
import WeightKitTokenizer

/// GGUF → pack: the pack holds the model the way a Hugging Face folder's conversion puts it in a
/// pack (config.json as `config`, tokenizer.json as the tokenizer blob, Hugging Face names and
/// Q/K order), so one loading path runs every pack; what only GGUF metadata says is translated,
/// and checked to describe the same computation the GGUF runs.
extension Converter {
    /// GGUF → .wkp. For an architecture WeightKit runs: Hugging Face names, Q/K rows back in
    /// Hugging Face's order (a lossless row permutation, block types included), block types the
    /// runtime computes on kept, others decoded to f32 (as loading the GGUF does); the config
    /// from the GGUF's metadata; tokenizer.json and tokenizer_config.json (BOS/EOS, add_bos) from
    /// its tokenizer keys; its chat templates and embedding pooling as pack metadata.
    /// A GGUF that WeightKit cannot run (an unknown architecture, missing hyperparameters) is
    /// converted as a plain tensor set, with a warning saying why.
    ///
    /// - Throws: `FormatError` `.unsupported` when the pack could not run exactly what the
    ///   GGUF runs (a config the translation changes, a Gemma norm whose stored 1 + w does not
    ///   survive w's round trip in f32, a tensor with no Hugging Face role, a tokenizer that
    ///   cannot be translated).
    static func ggufToPack(input: String, output: String, options: ConversionOptions) throws -> ConversionReport {
        let file = try GGUFFile(path: input)
        let model: GGUFPackModel
        switch try packLayout(of: file, path: input, dtype: options.dtype ?? .float32) {
        case .plain(let warning):
            // Not a model WeightKit runs (the GGUF itself would not load): its tensors as they are.
            var report = try convertTensors(input: input, format: .gguf, output: output, target: .wkp, options: options)
            report.warnings.insert(warning, at: 0)
            return report
        case .model(let m):
            model = m
        }
        let source = try packSource(tensors: file.tensors, base: file, model: model, keepBlocks: ModelGraph.matrixDTypes).source
        var writeOptions = WriteOptions(shardSize: options.shardSize, compress: options.compress, progress: options.progress)
        writeOptions.config = model.config
        writeOptions.tokenizerJSON = model.tokenizerJSON
        let payloads = try Converter.plan(source: source, cast: options.dtype, target: .wkp, output: output)
        let written = try FormatRegistry.write(payloads, metadata: model.metadata, to: output, format: .wkp, options: writeOptions)
        return ConversionReport(
            inputFormat: .gguf, outputFormat: .wkp, files: written.files, tensorCount: payloads.count,
            bytesWritten: written.bytesWritten, warnings: ConversionWarning.metadataDropped(model.dropped, format: "wkp"), seconds: 0)
    }

    /// A GGUF model as a pack holds it beside its tensors, checked to run what the GGUF runs.
    struct GGUFPackModel {
        /// The GGUF's path (for errors).
        var path: String
        /// The family the Hugging Face names follow.
        var family: ModelFamily
        /// The GGUF's own metadata (head counts for the Q/K order).
        var ggufMetadata: Metadata
        /// config.json, stored as the pack's `config`.
        var config: JSONObject
        /// tokenizer.json's text; nil for a GGUF without tokenizer keys.
        var tokenizerJSON: String?
        /// The pack metadata: tokenizer_config.json, chat templates, the GGUF's string keys.
        var metadata: Metadata
        /// GGUF keys a pack cannot hold (not strings, not config).
        var dropped: [String]
        /// What the pack's config.json says (Gemma's norm offset).
        var carried: ArchitectureConfig
    }

    /// What a pack made from a GGUF holds: the model, or (for a GGUF WeightKit does not run)
    /// its tensors alone, with the warning saying why.
    enum GGUFPackLayout {
        case model(GGUFPackModel)
        case plain(ConversionWarning)
    }

    /// The pack description of GGUF `file` (read from `path`): config.json from its metadata
    /// (`dtype` as `torch_dtype`), checked to describe the computation the GGUF runs; its
    /// tokenizer, tokenizer_config.json, chat templates and string keys as pack metadata.
    ///
    /// - Throws: `FormatError` `.unsupported` for a config.json that cannot say what the GGUF
    ///   runs, or a tokenizer that cannot be translated.
    static func packLayout(of file: GGUFFile, path: String, dtype: DType) throws -> GGUFPackLayout {
        let family: ModelFamily, running: ArchitectureConfig
        do {
            (family, running) = try ModelLoader.ggufArchitecture(file)
        } catch {
            return .plain(ConversionWarning(
                .unknownArchitecture, "tensors and string metadata kept, no config, so the pack cannot run: \(error)"))
        }
        var json = try hfConfig(of: file, family: family, dtype: dtype)
        if let factors = try GGUFConfig.floatValues(in: file, named: "rope_freqs.weight") { json = storedFrequencies(json, factors) }
        let carried = try ArchitectureConfig(huggingFace: json, path: path)
        try checkSameComputation(carried: carried, running: running, path: path)
        let context = json["max_position_embeddings"]?.int ?? json["n_positions"]?.int
        var dropped: [String] = []
        let metadata = try packMetadata(gguf: file.metadata, family: family, context: context, path: path, dropped: &dropped)
        return .model(GGUFPackModel(
            path: path, family: family, ggufMetadata: file.metadata, config: json, tokenizerJSON: try packTokenizer(file.metadata, path: path),
            metadata: metadata, dropped: dropped, carried: carried))
    }

    /// `tensors` (the GGUF's names and layout, read from `base`) as `model`'s pack holds them:
    /// Hugging Face names, Q/K rows back in Hugging Face's order (a lossless row permutation,
    /// block types included), stacked experts split; block types in `keepBlocks` kept, others
    /// decoded to f32.
    ///
    /// - Throws: `FormatError` `.unsupported` for a tensor with no Hugging Face role, or a Gemma
    ///   norm that would not run exactly (`checkNormRoundTrip`).
    static func packSource(
        tensors: [TensorInfo], base: any TensorSource, model: GGUFPackModel, keepBlocks: Set<DType>
    ) throws -> (plan: GGUFConversion.Plan, source: GGUFTensorSource) {
        let plan = try GGUFConversion.toHuggingFace(tensors: tensors, ggufMetadata: model.ggufMetadata, keepBlocks: keepBlocks)
        if let stray = plan.unmapped.first {
            throw FormatError(
                .unsupported, "no Hugging Face role in \(model.family.rawValue) for this GGUF tensor, so a pack could not run it",
                path: model.path, tensorName: stray)
        }
        let source = plan.source(base: base)
        try checkNormRoundTrip(plan: plan, base: base, source: source, offset: model.carried.normWeightOffset, path: model.path)
        return (plan, source)
    }

    /// config.json for a GGUF file of a known family, refusing `rope_freqs.weight` that is not
    /// Llama 3 scaling (config.json cannot say it).
    static func hfConfig(of file: GGUFFile, family: ModelFamily, dtype: DType) throws -> JSONObject {
        let config = try GGUFConfig.hfConfig(
            ggufMetadata: file.metadata, family: family, tensorNames: Set(file.tensors.map(\.name)),
            vocabularyRows: file.tensor(named: "token_embd.weight")?.shape.dims.first, dtype: dtype,
            values: { try GGUFConfig.floatValues(in: file, named: $0) })
        if file.tensor(named: "rope_freqs.weight") != nil, config["rope_scaling"]?.object?["rope_type"]?.string != "llama3" {
            throw FormatError(
                .unsupported, "rope_freqs.weight is not Llama 3 scaling of any factor and context, so config.json cannot say it",
                path: file.files[0], tensorName: "rope_freqs.weight")
        }
        return config
    }

    /// `config` with its Llama 3 `rope_scaling` replaced by the GGUF's stored `rope_freqs.weight`
    /// factors, written as transformers' `longrope` with equal short and long factors and
    /// attention factor 1 (so every length divides frequency i by factor i): llama3's parameters
    /// recomputed in double need not give the f32 factors the GGUF runs with.
    static func storedFrequencies(_ config: JSONObject, _ factors: [Float]) -> JSONObject {
        var config = config
        guard let llama3 = config["rope_scaling"]?.object else { return config }
        let list = JSONValue.array(factors.map { .double(Double($0)) })
        var scaling = JSONObject()
        scaling.set("rope_type", "longrope")
        scaling.set("short_factor", list)
        scaling.set("long_factor", list)
        if let original = llama3["original_max_position_embeddings"] { scaling.set("original_max_position_embeddings", original) }
        scaling.set("attention_factor", .double(1))
        config.set("rope_scaling", .object(scaling))
        return config
    }

    /// Throws unless `carried` (read back from the config.json the pack will hold) describes what
    /// `running` (the GGUF as the loader runs it) computes: the same fields, except the two the
    /// layouts differ by on purpose — RoPE pairing (the pack's Q/K rows are in Hugging Face's
    /// order) and Gemma's norm offset (the pack stores w, the GGUF 1 + w) — and RoPE frequencies
    /// given as `rope_freqs.weight` factors in the GGUF and as Llama 3 parameters in config.json,
    /// which must give the same f32 inverse frequencies.
    static func checkSameComputation(carried: ArchitectureConfig, running: ArchitectureConfig, path: String) throws {
        var expected = running
        expected.ropeLayout = carried.ropeLayout
        expected.normWeightOffset = carried.normWeightOffset
        if sameFrequencies(carried.rope, running.rope) { expected.rope = carried.rope }
        if sameFrequencies(carried.slidingRope, running.slidingRope) { expected.slidingRope = carried.slidingRope }
        guard expected != carried else { return }
        let a = Mirror(reflecting: expected).children, b = Mirror(reflecting: carried).children
        let differences = zip(a, b).compactMap { x, y -> String? in
            let gguf = String(describing: x.value), pack = String(describing: y.value)
            return gguf == pack ? nil : "\(x.label ?? "?"): the GGUF runs \(gguf), its config.json would say \(pack)"
        }
        throw FormatError(.unsupported, "a pack's config.json cannot describe this GGUF exactly (\(differences.joined(separator: "; ")))", path: path)
    }

    /// Whether two RoPE configurations rotate by the same f32 frequencies and attention factor at
    /// every length up to their context (`frequencies` at the shortest and a long length).
    static func sameFrequencies(_ a: RoPEConfig?, _ b: RoPEConfig?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        guard a.rotaryDim == b.rotaryDim else { return false }
        return [1, 1 << 20].allSatisfy { length in
            let x = a.frequencies(sequenceLength: length), y = b.frequencies(sequenceLength: length)
            return x.inverse.map(Float.init) == y.inverse.map(Float.init) && Float(x.attentionFactor) == Float(y.attentionFactor)
        }
    }

    /// Throws unless every norm converted from the GGUF's stored 1 + w (Gemma) comes back to the
    /// stored f32 values when the runtime adds `offset` again: (v − 1) + 1 rounds away low bits
    /// of values below ½, and such a norm would not run exactly as the GGUF's.
    static func checkNormRoundTrip(
        plan: GGUFConversion.Plan, base: any TensorSource, source: GGUFTensorSource, offset: Float, path: String
    ) throws {
        guard offset != 0 else { return }
        for entry in plan.entries where entry.addend != 0 {
            guard case .input(let name, _) = entry.parts.first, let stored = base.tensor(named: name) else { continue }
            let before = try floats(base, stored, name: name, path: path)
            let after = try floats(source, entry.output, name: name, path: path)
            if let i = before.indices.first(where: { i in i >= after.count || before[i] != after[i] + offset }) {
                throw FormatError(
                    .unsupported, "\(name)[\(i)] stores \(before[i]), which becomes \(after[i] + offset) after Gemma's 1 + w goes through a Hugging Face config: the pack would not run exactly as the GGUF",
                    path: path, tensorName: name)
            }
        }
    }

    /// A norm's values as f32 (a float type, or a block type decoded).
    static func floats(_ source: any TensorSource, _ t: TensorInfo, name: String, path: String) throws -> [Float] {
        if t.dtype.isQuantized { return QuantBlocks.dequantize(Array(try source.storage(of: t).bytes), as: t.dtype) }
        guard t.dtype.isFloatingPoint else {
            throw FormatError(.unsupported, "norm \(name) is \(t.dtype.shortName), not a float type whose round trip can be checked", path: path, tensorName: name)
        }
        return try ModelComparison.floats(source, t)
    }

    /// The tokenizer.json text a pack carries for the GGUF's tokenizer keys; nil for a GGUF with
    /// none. A tokenizer the translator refuses is an error (the GGUF itself would not load).
    static func packTokenizer(_ metadata: Metadata, path: String) throws -> String? {
        guard metadata["tokenizer.ggml.model"] != nil else { return nil }
        do {
            return JSONWriter.serialize(try GGUFTokenizer.tokenizerJSON(validating: metadata))
        } catch {
            throw FormatError(.unsupported, "the GGUF's tokenizer cannot be carried into a pack: \(error)", path: path)
        }
    }

    /// The pack metadata for a GGUF model: its string keys other than `tokenizer.*` and
    /// `{arch}.*` (which config.json and the tokenizer carry) and those describing the GGUF file
    /// (`general.file_type`, `split.*` …); other keys that are not strings go to `dropped`;
    /// tokenizer_config.json's text (BOS/EOS and add_bos,
    /// which tokenizer.json cannot say), the chat templates (`tokenizer.chat_template[.NAME]` as
    /// `chat_template[.NAME]`), and a BERT model's pooling as `sentence_transformers.*`.
    static func packMetadata(
        gguf metadata: Metadata, family: ModelFamily, context: Int?, path: String, dropped: inout [String]
    ) throws -> Metadata {
        var out = Metadata(), kept = Metadata()
        // Keys about the GGUF file itself (its type mix, block format version, alignment, shards).
        let fileKeys: Set<String> = ["general.file_type", "general.quantization_version", "general.alignment"]
        for (key, value) in metadata.entries
        where !key.hasPrefix("tokenizer.") && !key.hasPrefix("\(family.rawValue).") && !key.hasPrefix("split.") && !fileKeys.contains(key) {
            if let text = value.stringValue { kept[key] = .string(text) } else { dropped.append(key) }
        }
        if metadata["tokenizer.ggml.model"] != nil {
            let config = GGUFTokenizer.tokenizerConfig(ggufMetadata: metadata, contextLength: context)
            out[MetadataEditor.packTokenizerConfigKey] = .string(JSONWriter.serialize(config))
        }
        let prefix = "tokenizer.chat_template"
        for (key, value) in metadata.entries where key == prefix || key.hasPrefix(prefix + ".") {
            guard let text = value.stringValue else {
                throw FormatError(.invalidHeader, "\(key) must be a string to be carried as a chat template", path: path)
            }
            out[MetadataEditor.packChatTemplateKey + key.dropFirst(prefix.count)] = .string(text)
        }
        if family == .bert {
            for (key, value) in try EmbeddingSettings.gguf(metadata, path: path).packMetadata.entries { out[key] = value }
        }
        for (key, value) in kept.entries { out[key] = value }  // after the derived keys, so edits append after the GGUF's
        return out
    }
}
