import WeightKitCore
import WeightKitFormats
import WeightKitGraph

/// A model opened for running: its tensors, configuration and bound graph.
public struct LoadedModel: Sendable {
    /// Where it came from.
    public var path: String
    /// The tensors.
    public var source: any TensorSource
    /// The bound graph.
    public var graph: ModelGraph
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
            return LoadedModel(path: path, source: folder.tensors, graph: graph)
        default:
            throw GraphError(.unknownArchitecture, "running a model from \(format.rawValue) is not supported yet", path: path)
        }
    }
}
