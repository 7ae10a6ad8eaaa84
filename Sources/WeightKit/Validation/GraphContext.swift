import WeightKitCore
import WeightKitFormats
import WeightKitGraph
import WeightKitTokenizer

/// What the graph checks need: the architecture config, the tensors under Hugging Face names
/// (GGUF names mapped and blocks dequantized, as `ModelLoader` does), and the tokenizer.
struct GraphContext {
    var config: ArchitectureConfig
    var source: any TensorSource
    var tokenizer: (any Tokenizer)?
    var names: (embedding: String, head: String)

    /// The context for `path`, or nil when the input carries no architecture config at all.
    static func make(path: String, format: TensorFormat, source: any TensorSource) throws -> GraphContext? {
        switch format {
        case .huggingFace:
            let folder = try HuggingFaceFolder(path: path)
            guard let json = folder.config else { return nil }
            let config = try ArchitectureConfig(huggingFace: json, path: joinPath(path, "config.json"))
            let tokenizer: (any Tokenizer)? = folder.sideFiles.contains("tokenizer.json") ? try TokenizerJSON.load(path: path) : nil
            return GraphContext(config: config, source: folder.tensors, tokenizer: tokenizer, names: names(config, folder.tensors))
        case .wkp:
            guard let pack = source as? PackReader, let json = pack.config else { return nil }
            let config = try ArchitectureConfig(huggingFace: json, path: path)
            let tokenizer: (any Tokenizer)? = try pack.tokenizerJSON().map { try TokenizerJSON.parse($0) }
            return GraphContext(config: config, source: pack, tokenizer: tokenizer, names: names(config, pack))
        case .gguf:
            guard let file = source as? GGUFFile, file.metadata["general.architecture"] != nil else { return nil }
            return try gguf(file)
        default:
            return nil
        }
    }

    /// The embedding and head names of the family.
    static func names(_ config: ArchitectureConfig, _ source: any TensorSource) -> (embedding: String, head: String) {
        switch config.family {
        case .gpt2:
            let prefix = source.tensor(named: "transformer.wte.weight") != nil ? "transformer." : ""
            return (prefix + "wte.weight", "lm_head.weight")
        case .gptNeoX:
            return ("gpt_neox.embed_in.weight", "embed_out.weight")
        default:
            return ("model.embed_tokens.weight", "lm_head.weight")
        }
    }

    /// Most f32 bytes the graph checks dequantize a GGUF into (validate must stay bounded on a
    /// 7B model, whose f32 copy would be 28 GB).
    static let maxDequantizedBytes = 2 << 30

    /// A GGUF file seen as `ModelLoader.loadGGUF` sees it (kept in step with it): names mapped to
    /// Hugging Face roles, blocks dequantized, config from metadata. A tensor with no role is
    /// left under its GGUF name, so binding reports it as not part of the architecture.
    static func gguf(_ file: GGUFFile) throws -> GraphContext {
        let metadata = file.metadata
        let (_, config) = try ModelLoader.ggufArchitecture(file)
        // Binding keeps every dequantized matrix in memory at once; past the cap the blocks stay
        // as they are and binding stops, with a note, at the first quantized matrix.
        let dequantizedBytes = file.tensors.filter(\.dtype.isQuantized).reduce(0) { $0 + $1.elementCount * 4 }
        let dequantize = dequantizedBytes <= maxDequantizedBytes
        let keep = dequantize ? [] : Set(file.tensors.map(\.dtype).filter(\.isQuantized))
        let plan = try GGUFConversion.toHuggingFace(tensors: file.tensors, ggufMetadata: metadata, running: true, keepBlocks: keep)
        let source = plan.source(base: file)
        let tokenizer: (any Tokenizer)? = metadata["tokenizer.ggml.model"] == nil ? nil : try BPETokenizer.fromGGUFMetadata(metadata)
        return GraphContext(config: config, source: source, tokenizer: tokenizer, names: names(config, source))
    }
}
