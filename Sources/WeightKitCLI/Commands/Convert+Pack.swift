import WeightKitCore
import WeightKitFormats

extension WeightKitCommand.Convert {
    /// Gives a pack being written the model's config and tokenizer.json: from a Hugging Face
    /// folder's files, or from a pack being re-packed. A cast is recorded in `torch_dtype`.
    static func addModelFiles(to options: inout WriteOptions, folder: HuggingFaceFolder?, source: any TensorSource, cast: DType?) throws {
        if let folder {
            options.config = castConfig(folder.config, cast: cast)
            if folder.sideFiles.contains("tokenizer.json") {
                options.tokenizerJSON = try readText(joinPath(folder.path, "tokenizer.json"), cap: PackHeader.maxTokenizerBytes)
            }
        } else if let pack = source as? PackReader {
            options.config = castConfig(pack.config, cast: cast)
            options.tokenizerJSON = try pack.tokenizerJSON()
        }
    }

    /// Writes a pack's config and tokenizer as `config.json` and `tokenizer.json` beside the
    /// weights of a Hugging Face folder.
    static func writeModelFiles(of pack: PackReader, to folder: String, cast: DType?) throws {
        if let config = castConfig(pack.config, cast: cast) {
            let file = try OutputFile(path: joinPath(folder, "config.json"))
            try file.write(JSONWriter.serialize(.object(config), indent: 2) + "\n")
            try file.commit()
        }
        if let text = try pack.tokenizerJSON() {
            let file = try OutputFile(path: joinPath(folder, "tokenizer.json"))
            try file.write(text)
            try file.commit()
        }
    }

    /// `config` with `torch_dtype` set to `cast`, when it has that key and a cast is given.
    static func castConfig(_ config: JSONObject?, cast: DType?) -> JSONObject? {
        guard var config, let cast, config["torch_dtype"] != nil else { return config }
        let names: [DType: String] = [.float32: "float32", .float16: "float16", .bfloat16: "bfloat16"]
        if let name = names[cast] { config.set("torch_dtype", .string(name)) }
        return config
    }

    /// The UTF-8 text of a small file, refused above `cap` bytes.
    static func readText(_ path: String, cap: Int) throws -> String {
        let mapped = try MappedFile(path: path)
        guard mapped.count <= cap else { throw FormatError.limit("file size", value: mapped.count, cap: cap, path: path) }
        let bytes = unsafe mapped.withUnsafeBytes { unsafe Array($0) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FormatError(.invalidHeader, "file is not valid UTF-8", path: path)
        }
        return text
    }
}
