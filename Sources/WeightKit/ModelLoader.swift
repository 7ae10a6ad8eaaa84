import WeightKitCore
import WeightKitFormats
import WeightKitGraph
import WeightKitTokenizer

/// A model opened for running: its tensors, configuration and bound graph.
public struct LoadedModel: Sendable {
    /// Where it came from.
    public var path: String
    /// The tensors.
    public var source: any TensorSource
    /// The bound graph.
    public var graph: ModelGraph
    /// The tokenizer, when the model carries one.
    public var tokenizer: (any Tokenizer)?
    /// The Jinja chat template text, when the model carries one.
    public var chatTemplateText: String?
}

/// Opens models from any format the runtime supports.
public enum ModelLoader {
    /// Loads a Hugging Face folder (config.json + safetensors, with tokenizer.json and a chat
    /// template when present), a GGUF file (config, tokenizer and chat template from its
    /// metadata) or a pack carrying its config, and binds its weights to a `ModelGraph`.
    ///
    /// `format` reads `path` as that format whatever its name (a GGUF file without the .gguf
    /// extension); nil detects it from the first bytes, then the extension.
    /// With `tokenizer: false` the tokenizer is not read (`bench` needs none, and parsing a
    /// multi-megabyte tokenizer.json would count as load time).
    ///
    /// - Throws: `GraphError` `.unknownArchitecture` for formats that hold no model, and when
    ///   the tensors do not fit the architecture; `FormatError` for unreadable files, a file that
    ///   is not the `format` given (`.badMagic`), or `format: .huggingFace` on a file (`.unknownFormat`).
    public static func load(path: String, format: TensorFormat? = nil, tokenizer loadTokenizer: Bool = true) throws -> LoadedModel {
        let format = try format ?? FormatDetector.detect(path: path)
        if format == .huggingFace, FormatDetector.kind(of: path) == .file {
            throw FormatError(.unknownFormat, "a Hugging Face model is a folder (config.json, safetensors), but this is a file", path: path)
        }
        switch format {
        case .huggingFace:
            let folder = try HuggingFaceFolder(path: path)
            guard let json = folder.config else {
                throw GraphError(.invalidConfig, "the folder has no config.json, so its architecture is unknown", path: path)
            }
            let config = try ArchitectureConfig(huggingFace: json, path: joinPath(path, "config.json"))
            let graph = try ModelGraph.bind(folder.tensors, config: config)
            let hasTokenizer = loadTokenizer && folder.sideFiles.contains("tokenizer.json")
            let tokenizer: (any Tokenizer)? = hasTokenizer ? try TokenizerJSON.load(path: path) : nil
            return LoadedModel(
                path: path, source: folder.tensors, graph: graph, tokenizer: tokenizer,
                chatTemplateText: try chatTemplate(inFolder: path))
        case .gguf:
            return try loadGGUF(GGUFFile(path: path), tokenizer: loadTokenizer)
        case .wkp:
            return try loadPack(PackReader(path: path), tokenizer: loadTokenizer)
        default:
            throw GraphError(
                .unknownArchitecture, "running a model from \(format.rawValue) is not supported yet (models run from hf, gguf and wkp)",
                path: path)
        }
    }

    /// A pack carrying its config (and usually its tokenizer), with Hugging Face names.
    static func loadPack(_ pack: PackReader, tokenizer loadTokenizer: Bool) throws -> LoadedModel {
        let path = pack.files[0]
        guard let json = pack.config else {
            throw GraphError(.invalidConfig, "the pack holds no architecture config, so it is a plain tensor set and cannot run", path: path)
        }
        let config = try ArchitectureConfig(huggingFace: json, path: path)
        let graph = try ModelGraph.bind(pack, config: config)
        let tokenizer: (any Tokenizer)? = loadTokenizer ? try packTokenizer(pack) : nil
        return LoadedModel(
            path: path, source: pack, graph: graph, tokenizer: tokenizer,
            chatTemplateText: pack.metadata[MetadataEditor.packChatTemplateKey]?.stringValue)
    }

    /// A tokenizer from a tokenizer.json, a folder holding one, a GGUF file's metadata, or the
    /// tokenizer.json a pack carries.
    public static func tokenizer(path: String) throws -> PipelineTokenizer {
        if FormatDetector.kind(of: path) == .file {
            switch try? FormatDetector.detect(path: path) {
            case .gguf?:
                return try BPETokenizer.fromGGUFMetadata(GGUFFile(path: path).metadata)
            case .wkp?:
                guard let tokenizer = try packTokenizer(PackReader(path: path)) else {
                    throw FormatError(.invalidHeader, "the pack carries no tokenizer", path: path)
                }
                return tokenizer
            default:
                break
            }
        }
        return try TokenizerJSON.load(path: path)
    }

    /// A pack's tokenizer.json with its tokenizer_config.json (metadata
    /// `MetadataEditor.packTokenizerConfigKey`) applied, as a folder's are; nil without one.
    static func packTokenizer(_ pack: PackReader) throws -> PipelineTokenizer? {
        guard let text = try pack.tokenizerJSON() else { return nil }
        let config = pack.metadata[MetadataEditor.packTokenizerConfigKey]?.stringValue
        do {
            return try TokenizerJSON.parse(text, tokenizerConfig: config)
        } catch let error as TokenizerError {
            throw error.at(path: pack.files[0])
        }
    }

    /// The family and configuration of a GGUF file, from its metadata (and its RoPE factor
    /// tensors), with llama.cpp's Q/K order and stored norms — shared by loading and validation.
    static func ggufArchitecture(_ file: GGUFFile) throws -> (ModelFamily, ArchitectureConfig) {
        try GGUFConfig.architecture(
            ggufMetadata: file.metadata, tensorNames: Set(file.tensors.map(\.name)),
            vocabularyRows: file.tensor(named: "token_embd.weight")?.shape.dims.first, path: file.files[0],
            values: { try GGUFConfig.floatValues(in: file, named: $0) })
    }

    /// A GGUF file run as is: names mapped to Hugging Face roles through `WeightNames`, Q/K left
    /// in llama.cpp's permuted order (so RoPE runs interleaved), norms as stored, stacked experts
    /// viewed one expert at a time; Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, IQ4_XS and Q2_K…Q6_K blocks stay mapped
    /// and run in the quantized kernels (`ModelGraph.matrixDTypes`), other block types are
    /// dequantized to f32 one tensor at a time at load.
    static func loadGGUF(_ file: GGUFFile, tokenizer loadTokenizer: Bool) throws -> LoadedModel {
        let path = file.files[0]
        let metadata = file.metadata
        let (_, config) = try ggufArchitecture(file)
        let plan = try GGUFConversion.toHuggingFace(
            tensors: file.tensors, ggufMetadata: metadata, running: true, keepBlocks: ModelGraph.matrixDTypes)
        if let stray = plan.unmapped.first {
            throw GraphError(.unexpectedTensor, "no Hugging Face role for this GGUF tensor", tensorName: stray, path: path)
        }
        let graph = try ModelGraph.bind(plan.source(base: file), config: config)
        let tokenizer: (any Tokenizer)? = !loadTokenizer || metadata["tokenizer.ggml.model"] == nil ? nil : try BPETokenizer.fromGGUFMetadata(metadata)
        return LoadedModel(
            path: path, source: file, graph: graph, tokenizer: tokenizer,
            chatTemplateText: metadata["tokenizer.chat_template"]?.stringValue)
    }

    /// The chat template of a Hugging Face folder: `chat_template.jinja`, or the
    /// `chat_template` string of `tokenizer_config.json`.
    static func chatTemplate(inFolder path: String) throws -> String? {
        let names = try FormatDetector.listDirectory(path)
        if names.contains("chat_template.jinja") {
            let file = try MappedFile(path: joinPath(path, "chat_template.jinja"))
            return unsafe file.withUnsafeBytes { unsafe String(decoding: $0, as: UTF8.self) }
        }
        if names.contains("tokenizer_config.json") {
            let config = try HuggingFaceFolder.readJSONObject(joinPath(path, "tokenizer_config.json"))
            if let text = config["chat_template"]?.string { return text }
        }
        return nil
    }
}
