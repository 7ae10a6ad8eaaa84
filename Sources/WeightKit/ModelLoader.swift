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
    /// Loads a Hugging Face folder (config.json + safetensors).
    public static func load(path: String) throws -> LoadedModel {
        let format = try FormatDetector.detect(path: path)
        switch format {
        case .huggingFace:
            let folder = try HuggingFaceFolder(path: path)
            guard let json = folder.config else {
                throw GraphError(.invalidConfig, "the folder has no config.json, so its architecture is unknown", path: path)
            }
            let config = try ArchitectureConfig(huggingFace: json, path: joinPath(path, "config.json"))
            let graph = try ModelGraph.bind(folder.tensors, config: config)
            let hasTokenizer = folder.sideFiles.contains("tokenizer.json")
            let tokenizer: (any Tokenizer)? = hasTokenizer ? try TokenizerJSON.load(path: path) : nil
            return LoadedModel(
                path: path, source: folder.tensors, graph: graph, tokenizer: tokenizer,
                chatTemplateText: try chatTemplate(inFolder: path))
        default:
            throw GraphError(.unknownArchitecture, "running a model from \(format.rawValue) is not supported yet", path: path)
        }
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
