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

    /// Writes a pack's config and tokenizer as `config.json` and `tokenizer.json` beside the
    /// weights of a Hugging Face folder; returns the files written.
    static func write(of pack: PackReader, to folder: String, cast: DType?) throws -> [String] {
        var written: [String] = []
        if let config = castConfig(pack.config, cast: cast) {
            written.append(try writeJSON(.object(config), to: joinPath(folder, "config.json")))
        }
        if let text = try pack.tokenizerJSON() {
            written.append(try writeText(text, to: joinPath(folder, "tokenizer.json")))
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
