#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightKitCore

/// Reads Hugging Face `tokenizer.json` files into a `PipelineTokenizer`, every stage chosen by
/// its `type`; a stage type this build does not implement is an error naming it.
public enum TokenizerJSON {
    /// Largest tokenizer.json read: the biggest real ones (256k-entry vocabularies) are ~35 MB.
    public static let maxFileBytes = 256 << 20

    /// Loads `path`: a tokenizer.json file, or a folder holding one (its tokenizer_config.json,
    /// when present, supplies BOS/EOS and `add_bos_token`/`add_eos_token`).
    public static func load(path: String) throws -> PipelineTokenizer {
        var info = stat()
        let isFolder = unsafe stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
        let file = isFolder ? path + "/tokenizer.json" : path
        let tokenizer: PipelineTokenizer
        do {
            tokenizer = try parse(readJSON(file))
        } catch let error as TokenizerError {
            throw error.at(path: file)
        }
        let folder = isFolder ? path : parentFolder(of: path)
        let configPath = folder + "/tokenizer_config.json"
        guard unsafe stat(configPath, &info) == 0 else { return tokenizer }
        do {
            return try applyConfig(readJSON(configPath), to: tokenizer)
        } catch let error as TokenizerError {
            throw error.at(path: configPath)
        }
    }

    /// Parses tokenizer.json text.
    public static func parse(_ text: String) throws -> PipelineTokenizer {
        do {
            return try parse(JSON.parse(text))
        } catch let error as JSONParseError {
            throw TokenizerError(.invalidJSON, error.description)
        }
    }

    /// Parses tokenizer.json text with the text of a tokenizer_config.json (BOS/EOS and
    /// `add_bos_token`/`add_eos_token`, as `load(path:)` applies a folder's) when given.
    public static func parse(_ text: String, tokenizerConfig: String?) throws -> PipelineTokenizer {
        let tokenizer = try parse(text)
        guard let tokenizerConfig else { return tokenizer }
        do {
            return try applyConfig(JSON.parse(tokenizerConfig), to: tokenizer)
        } catch let error as JSONParseError {
            throw TokenizerError(.invalidJSON, "tokenizer_config: \(error.description)")
        }
    }

    /// Builds the pipeline from a parsed tokenizer.json.
    public static func parse(_ root: JSONValue) throws(TokenizerError) -> PipelineTokenizer {
        let f = try JSONFields(root, path: "")
        let added = try addedTokens(f)
        return PipelineTokenizer(
            normalizer: try makeNormalizer(f.value("normalizer"), path: "normalizer"),
            preTokenizer: try makePreTokenizer(f.value("pre_tokenizer"), path: "pre_tokenizer"),
            model: try makeModel(f.value("model"), path: "model"),
            postProcessor: try makePostProcessor(f.value("post_processor"), path: "post_processor"),
            decoder: try makeDecoder(f.value("decoder"), path: "decoder"),
            addedTokens: added, padding: try padding(f), truncation: try truncation(f),
            byteLevelTrim: ByteLevelOffsetTrim.of(f.value("post_processor")))
    }

    /// The `added_tokens` array.
    static func addedTokens(_ f: JSONFields) throws(TokenizerError) -> [AddedToken] {
        guard f.value("added_tokens") != nil else { return [] }
        var out: [AddedToken] = []
        for (i, item) in try f.array("added_tokens").enumerated() {
            let t = try JSONFields(item, path: "added_tokens[\(i)]")
            let id = try t.int("id", default: -1)
            guard id >= 0 && id < maxVocabularySize else {
                throw TokenizerError(.invalidValue, "expected an id in 0..<\(maxVocabularySize)", field: t.field("id"))
            }
            let special = try t.bool("special", default: false)
            out.append(AddedToken(
                id: id, content: try t.string("content"), special: special,
                singleWord: try t.bool("single_word", default: false), lstrip: try t.bool("lstrip", default: false),
                rstrip: try t.bool("rstrip", default: false), normalized: try t.bool("normalized", default: !special)))
        }
        return out
    }

    /// Applies tokenizer_config.json: BOS/EOS tokens, and `add_bos_token`/`add_eos_token`
    /// (which, as in transformers' Llama tokenizers, replace the post-processor when present).
    static func applyConfig(_ config: JSONValue, to tokenizer: PipelineTokenizer) throws(TokenizerError) -> PipelineTokenizer {
        let f = try JSONFields(config, path: "")
        func tokenId(_ key: String) -> Int? {
            guard let v = f.value(key) else { return nil }
            let name = v.string ?? v.object?["content"]?.string
            return name.flatMap { tokenizer.id(for: $0) }
        }
        let bos = tokenId("bos_token"), eos = tokenId("eos_token")
        var post = tokenizer.postProcessor
        if f.value("add_bos_token") != nil || f.value("add_eos_token") != nil {
            let addBos = try f.bool("add_bos_token", default: false), addEos = try f.bool("add_eos_token", default: false)
            post = TemplatePostProcessor(
                prefix: addBos ? bos.map { [$0] } ?? [] : [], suffix: addEos ? eos.map { [$0] } ?? [] : [])
        }
        return tokenizer.with(postProcessor: post, bos: bos, eos: eos)
    }

    /// Reads and parses a JSON file, with the size cap.
    static func readJSON(_ path: String) throws -> JSONValue {
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch {
            throw TokenizerError(.cannotOpen, (error as? FormatError)?.message ?? "\(error)", path: path)
        }
        guard file.count <= maxFileBytes else {
            throw TokenizerError(.limitExceeded, "file of \(file.count) bytes exceeds the limit of \(maxFileBytes)", path: path)
        }
        do {
            // SAFETY: the buffer is the live mapping, only read inside the closure.
            return try unsafe file.withUnsafeBytes { bytes throws(JSONParseError) in try unsafe JSON.parse(bytes) }
        } catch {
            throw TokenizerError(.invalidJSON, error.description, path: path)
        }
    }

    private static func parentFolder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
