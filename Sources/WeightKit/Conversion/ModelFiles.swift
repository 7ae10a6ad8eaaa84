import WeightKitCore
import WeightKitFormats

/// The files that make weights a model — config.json and the tokenizer files — carried from
/// one layout to another: copied between folders, put into a pack, taken out of one.
enum ModelFiles {
    /// Gives a pack being written the model's config and tokenizer.json: from a Hugging Face
    /// folder's files, or from a pack being re-packed. A cast is recorded in `torch_dtype`.
    static func add(to options: inout WriteOptions, folder: HuggingFaceFolder?, source: any TensorSource, cast: DType?) throws {
        if let folder {
            options.config = castConfig(folder.config, cast: cast)
            if folder.sideFiles.contains("tokenizer.json") {
                options.tokenizerJSON = try TextFile.read(joinPath(folder.path, "tokenizer.json"), cap: PackHeader.maxTokenizerBytes)
            }
        } else if let pack = source as? PackReader {
            options.config = castConfig(pack.config, cast: cast)
            options.tokenizerJSON = try pack.tokenizerJSON()
        }
    }

    /// The metadata a folder's pack carries beside its config and tokenizer.json: a
    /// sentence-transformers folder's pooling, tokenizer_config.json's text (BOS/EOS,
    /// add_bos_token) and the chat template (chat_template.jinja or tokenizer_config.json's).
    static func packMetadata(of folder: HuggingFaceFolder) throws -> Metadata {
        var metadata = try EmbeddingSettings.packMetadata(folder: folder.path)
        if let text = try tokenizerConfig(of: folder) { metadata[MetadataEditor.packTokenizerConfigKey] = .string(text) }
        if let template = try ModelLoader.chatTemplate(inFolder: folder.path) { metadata[MetadataEditor.packChatTemplateKey] = .string(template) }
        return metadata
    }

    /// The text of a folder's tokenizer_config.json (BOS/EOS, add_bos_token), which a pack
    /// carries as metadata beside the tokenizer; nil when the folder has none.
    static func tokenizerConfig(of folder: HuggingFaceFolder) throws -> String? {
        guard folder.sideFiles.contains("tokenizer_config.json") else { return nil }
        return try TextFile.read(joinPath(folder.path, "tokenizer_config.json"), cap: PackHeader.maxTokenizerBytes)
    }

    /// A pack's tokenizer_config.json (metadata `MetadataEditor.packTokenizerConfigKey`) with its
    /// chat template (`chat_template`) as the `chat_template` entry; nil when it has neither.
    static func tokenizerConfig(of pack: PackReader) throws -> JSONObject? {
        let text = pack.metadata[MetadataEditor.packTokenizerConfigKey]?.stringValue
        let template = pack.metadata[MetadataEditor.packChatTemplateKey]?.stringValue
        guard text != nil || template != nil else { return nil }
        var config = JSONObject()
        if let text {
            guard let object = (try? JSON.parse(text))?.object else {
                throw FormatError(
                    .invalidHeader, "metadata \"\(MetadataEditor.packTokenizerConfigKey)\" is not a JSON object", path: pack.files[0])
            }
            config = object
        }
        if let template { config.set("chat_template", .string(template)) }
        return config
    }

    /// Writes a pack's config and tokenizer as `config.json`, `tokenizer.json` and
    /// `tokenizer_config.json` (with the chat template) beside the weights of a Hugging Face
    /// folder; returns the files written.
    static func write(of pack: PackReader, to folder: String, cast: DType?) throws -> [String] {
        var written: [String] = []
        if let config = castConfig(pack.config, cast: cast) {
            written.append(try writeJSON(.object(config), to: joinPath(folder, "config.json")))
        }
        if let text = try pack.tokenizerJSON() {
            written.append(try writeText(text, to: joinPath(folder, "tokenizer.json")))
        }
        if let config = try tokenizerConfig(of: pack) {
            written.append(try writeJSON(.object(config), to: joinPath(folder, "tokenizer_config.json")))
        }
        return written
    }

    /// Copies a folder's config and tokenizer files beside the converted weights, recording a
    /// cast in config.json's `torch_dtype`; returns the files written.
    static func copySideFiles(from folder: HuggingFaceFolder, to out: String, cast: DType?) throws -> [String] {
        try folder.sideFiles.map { name in
            let target = joinPath(out, name)
            if name == "config.json", cast != nil, let config = folder.config, config["torch_dtype"] != nil {
                return try writeJSON(.object(castConfig(config, cast: cast)!), to: target)
            }
            let mapped = try MappedFile(path: joinPath(folder.path, name))
            let file = try OutputFile(path: target)
            try unsafe mapped.withUnsafeBytes { raw throws(FormatError) in try unsafe file.write(raw) }
            try file.commit()
            return file.path
        }
    }

    /// `config` with `torch_dtype` set to `cast`, when it has that key and a cast is given.
    static func castConfig(_ config: JSONObject?, cast: DType?) -> JSONObject? {
        guard var config, let name = cast?.torchName, config["torch_dtype"] != nil else { return config }
        config.set("torch_dtype", .string(name))
        return config
    }

    /// Writes `json` pretty-printed (two-space indent, final newline) to `path`; returns the path.
    static func writeJSON(_ json: JSONValue, to path: String) throws -> String {
        try writeText(JSONWriter.serialize(json, indent: 2) + "\n", to: path)
    }

    /// Writes `text` to `path` through an `OutputFile` (complete or absent); returns the path.
    static func writeText(_ text: String, to path: String) throws -> String {
        let file = try OutputFile(path: path)
        try file.write(text)
        try file.commit()
        return file.path
    }
}
