import WeightKitCore
import WeightKitFormats
import WeightKitQuantize

/// What `Quantizer` reads and how each tensor is written: the float source (GGUF names and
/// metadata for a folder → .gguf; blocks decoded for a quantized input), the scheme per
/// quantized tensor and the cast per float tensor.
struct QuantizationPlan {
    /// The tensors before quantization (all block types decoded to f32).
    var source: any TensorSource
    /// Output metadata.
    var metadata: Metadata
    /// Exact GGUF value types to keep (GGUF input → GGUF output).
    var typedHints: [String: GGUFValue] = [:]
    /// Writer options carrying config and tokenizer (pack output).
    var options = WriteOptions()
    /// Tensors to quantize: their block type and column importance.
    var targets: [String: QuantTarget] = [:]
    /// Why each tensor got its type, under a llama-quantize mix.
    var reasons: [String: String] = [:]
    /// Float tensors written in another float dtype (`embeddings: .f16`).
    var casts: [String: DType] = [:]
    /// What could not be carried over (GGUF names, tokenizer keys).
    var warnings: [ConversionWarning] = []
    /// For a GGUF model → .wkp: the pack it becomes (config, tokenizer, metadata), its tensors
    /// renamed and Q/K reordered after quantizing (`Quantizer.packSource`). `metadata` stays
    /// the GGUF's, which a mix's rules read.
    var ggufPack: Converter.GGUFPackModel?

    /// Plans quantizing `input` (read as `format`, nil: detected) into `target` under `policy`.
    ///
    /// - Throws: `FormatError` `.unsupportedDType` for a non-float tensor GGUF cannot hold.
    static func make(input: String, format: TensorFormat?, target: TensorFormat, policy: QuantPolicy) throws -> QuantizationPlan {
        var plan = try read(input: input, format: format, target: target, fileType: policy.scheme.dtype)
        try plan.choose(policy: policy, target: target, input: input)
        return plan
    }

    /// Reads `input` as `make` does, `general.file_type` set from `fileType` for a GGUF output.
    static func read(input: String, format: TensorFormat?, target: TensorFormat, fileType: DType) throws -> QuantizationPlan {
        let format = try format ?? FormatDetector.detect(path: input)
        var plan: QuantizationPlan
        let modelPack = format == .wkp && target == .gguf ? try PackReader(path: input) : nil
        switch format {
        case .huggingFace where target == .gguf:
            let gguf = try Converter.ggufSource(huggingFaceFolder: input, fileType: fileType)
            plan = QuantizationPlan(source: gguf.source, metadata: gguf.metadata, warnings: gguf.warnings)
            plan.typedHints = gguf.typedHints
        case .huggingFace:
            let folder = try HuggingFaceFolder(path: input)
            plan = QuantizationPlan(source: folder.tensors, metadata: folder.tensors.metadata)
            try ModelFiles.add(to: &plan.options, folder: folder, source: folder.tensors, cast: nil)
            if target == .wkp {
                for (key, value) in try ModelFiles.packMetadata(of: folder).entries { plan.metadata[key] = value }
            }
        case .wkp where modelPack?.config != nil:
            // A model pack (its config inside) is written with GGUF names, as its folder would be.
            let gguf = try Converter.ggufSource(pack: modelPack!, fileType: fileType)
            plan = QuantizationPlan(source: gguf.source, metadata: gguf.metadata, warnings: gguf.warnings)
            plan.typedHints = gguf.typedHints
        default:
            let base = try FormatRegistry.open(path: input, format: format)
            plan = QuantizationPlan(source: try Converter.decodingBlocks(base), metadata: base.metadata)
            if let gguf = base as? GGUFFile {
                plan.typedHints = Dictionary(gguf.typedMetadata, uniquingKeysWith: { a, _ in a })
                if target == .gguf { plan.setFileType(fileType) }
                if target == .wkp { try plan.setPack(of: gguf, path: input) }
            }
            if target == .wkp { try ModelFiles.add(to: &plan.options, folder: nil, source: base, cast: nil) }
        }
        return plan
    }

    /// Fills `targets` and `casts`: each tensor's policy target, and f32 for float tensors a
    /// GGUF output cannot hold as they are.
    mutating func choose(policy: QuantPolicy, target: TensorFormat, input: String) throws {
        for t in source.tensors {
            let dtype = policy.target(for: t)
            if QuantScheme(dtype: dtype) != nil {
                targets[t.name] = QuantTarget(dtype: dtype)
            } else if dtype != t.dtype {
                casts[t.name] = dtype
            } else if target == .gguf, !FormatRegistry.canStore(t.dtype, in: .gguf) {
                guard t.dtype.isFloatingPoint else {
                    throw FormatError(.unsupportedDType, "GGUF output cannot hold \(t.dtype.shortName)", path: input, tensorName: t.name)
                }
                casts[t.name] = .float32
            }
        }
    }

    /// Makes a GGUF model's .wkp output the pack `weightkit convert` writes (config, tokenizer,
    /// chat templates); a GGUF WeightKit does not run stays a plain tensor set, with a warning.
    mutating func setPack(of file: GGUFFile, path: String) throws {
        switch try Converter.packLayout(of: file, path: path, dtype: .float32) {
        case .plain(let warning):
            warnings.insert(warning, at: 0)
        case .model(let model):
            ggufPack = model
            options.config = model.config
            options.tokenizerJSON = model.tokenizerJSON
            warnings += ConversionWarning.metadataDropped(model.dropped, format: "wkp")
        }
    }

    /// Records the output's main block type in GGUF's `general.file_type` (a u32, as llama.cpp
    /// writes it).
    mutating func setFileType(_ dtype: DType) {
        guard let code = GGMLType.fileType(of: dtype) else { return }
        metadata["general.file_type"] = .uint(UInt64(code))
        typedHints["general.file_type"] = .uint32(code)
    }
}
