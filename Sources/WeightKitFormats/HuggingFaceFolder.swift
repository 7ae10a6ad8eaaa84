import WeightKitCore

/// A Hugging Face model folder: `config.json` (optional) plus `model.safetensors`, a sharded
/// set through `model.safetensors.index.json`, or a single other `.safetensors` file.
public struct HuggingFaceFolder: Sendable {
    /// The folder.
    public let path: String
    /// The weights.
    public let tensors: any TensorSource
    /// `config.json`, when present.
    public let config: JSONObject?
    /// Files besides the weights that describe the model (config, tokenizer, generation config),
    /// which a folder-to-folder conversion copies along.
    public let sideFiles: [String]

    /// Cap on config.json: real configs are a few kB.
    public static let maxConfigBytes = 16 << 20

    /// Opens the folder.
    public init(path: String) throws {
        self.path = path
        let names = try FormatDetector.listDirectory(path)
        if names.contains("model.safetensors.index.json") {
            tensors = try ShardedSafetensors(indexPath: joinPath(path, "model.safetensors.index.json"))
        } else if names.contains("model.safetensors") {
            tensors = try SafetensorsFile(path: joinPath(path, "model.safetensors"))
        } else {
            let candidates = names.filter { $0.hasSuffix(".safetensors") }
            guard candidates.count == 1 else {
                throw FormatError(
                    .unknownFormat,
                    candidates.isEmpty ? "folder has no model.safetensors or model.safetensors.index.json"
                        : "folder has several .safetensors files but no index: \(candidates.joined(separator: ", "))",
                    path: path)
            }
            tensors = try SafetensorsFile(path: joinPath(path, candidates[0]))
        }
        if names.contains("config.json") {
            config = try Self.readJSONObject(joinPath(path, "config.json"))
        } else {
            config = nil
        }
        let sideNames: Set<String> = [
            "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "vocab.txt", "vocab.json", "merges.txt", "tokenizer.model",
            "added_tokens.json", "chat_template.jinja", "chat_template.json",
        ]
        sideFiles = names.filter { sideNames.contains($0) }
    }

    /// Reads a small JSON file that must hold an object.
    public static func readJSONObject(_ file: String) throws -> JSONObject {
        let mapped = try MappedFile(path: file)
        guard mapped.count <= maxConfigBytes else {
            throw FormatError.limit("file size", value: mapped.count, cap: maxConfigBytes, path: file)
        }
        do {
            let value = try unsafe mapped.withUnsafeBytes { raw throws(JSONParseError) in try unsafe JSON.parse(raw) }
            guard let object = value.object else {
                throw FormatError.invalidHeader("expected a JSON object, found \(value.typeName)", path: file, at: 0)
            }
            return object
        } catch let error as JSONParseError {
            throw FormatError.invalidHeader("not valid JSON: \(error.message)", path: file, at: error.byteOffset)
        }
    }
}
