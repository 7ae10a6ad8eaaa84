import WeightKitCore
import WeightKitFormats
import WeightKitQuantize

/// What `quantize` reads and how each tensor is written: the float source (GGUF names and
/// metadata for a folder → .gguf; blocks decoded for a quantized input), the scheme per
/// quantized tensor and the cast per float tensor.
struct QuantizePlan {
    /// The tensors before quantization (all block types decoded to f32).
    var source: any TensorSource
    /// Output metadata.
    var metadata: Metadata
    /// Exact GGUF value types to keep (GGUF input → GGUF output).
    var typedHints: [String: GGUFValue] = [:]
    /// Writer options carrying config and tokenizer (pack output).
    var options = WriteOptions()
    /// Tensors to quantize and their scheme.
    var schemes: [String: QuantScheme] = [:]
    /// Float tensors written in another float dtype (`--embeddings f16`).
    var casts: [String: DType] = [:]

    static func make(input: String, format: TensorFormat?, target: TensorFormat, policy: QuantPolicy) throws -> QuantizePlan {
        let format = try format ?? FormatDetector.detect(path: input)
        var plan: QuantizePlan
        switch format {
        case .huggingFace where target == .gguf:
            let (source, metadata) = try WeightKitCommand.Convert.huggingFaceGGUFSource(input: input, fileType: policy.scheme.dtype)
            plan = QuantizePlan(source: source, metadata: metadata)
        case .huggingFace:
            let folder = try HuggingFaceFolder(path: input)
            plan = QuantizePlan(source: folder.tensors, metadata: folder.tensors.metadata)
            try WeightKitCommand.Convert.addModelFiles(to: &plan.options, folder: folder, source: folder.tensors, cast: nil)
        default:
            let base = try FormatRegistry.open(path: input, format: format)
            plan = QuantizePlan(source: try decoded(base), metadata: base.metadata)
            if let gguf = base as? GGUFFile {
                plan.typedHints = Dictionary(gguf.typedMetadata, uniquingKeysWith: { a, _ in a })
                if target == .gguf { plan.setFileType(policy.scheme.dtype) }
            }
            if target == .wkp { try WeightKitCommand.Convert.addModelFiles(to: &plan.options, folder: nil, source: base, cast: nil) }
        }
        for t in plan.source.tensors {
            let dtype = policy.target(for: t)
            if let scheme = QuantScheme(dtype: dtype) {
                plan.schemes[t.name] = scheme
            } else if dtype != t.dtype {
                plan.casts[t.name] = dtype
            } else if target == .gguf, !FormatRegistry.canStore(t.dtype, in: .gguf) {
                guard t.dtype.isFloatingPoint else {
                    throw FormatError(.unsupportedDType, "GGUF output cannot hold \(t.dtype.shortName)", path: input, tensorName: t.name)
                }
                plan.casts[t.name] = .float32
            }
        }
        return plan
    }

    /// `source` with every block-quantized tensor decoded to f32 (one tensor at a time).
    static func decoded(_ source: any TensorSource) throws -> any TensorSource {
        guard source.tensors.contains(where: { $0.dtype.isQuantized }) else { return source }
        let entries = try source.tensors.map { t in
            try TransformedTensorSource.entry(input: t, name: t.name, steps: t.dtype.isQuantized ? [.dequantize] : [])
        }
        return TransformedTensorSource(base: source, entries: entries)
    }

    /// Records the output's main block type in GGUF's `general.file_type`.
    mutating func setFileType(_ dtype: DType) {
        let codes: [DType: UInt64] = [.q4_0: 2, .q4_1: 3, .q8_0: 7]
        guard let code = codes[dtype] else { return }
        metadata["general.file_type"] = .uint(code)
        typedHints["general.file_type"] = .uint32(UInt32(code))
    }
}
