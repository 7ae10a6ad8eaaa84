import WeightKitCore
import WeightKitFormats
import WeightKitGraph

/// How an encoder's hidden states become one sentence embedding, as sentence-transformers
/// configures it: `modules.json` (Transformer → Pooling → Normalize), `1_Pooling/config.json`
/// and `sentence_bert_config.json`'s `max_seq_length`. A folder that says nothing gets mean
/// pooling and L2 normalisation; a module WeightKit does not compute (Dense, LayerNorm, …) is a
/// clear error, never skipped.
public struct EmbeddingSettings: Sendable, Hashable {
    /// How the token vectors are pooled.
    public enum Pooling: String, Sendable, Hashable, CaseIterable {
        /// The mean over the sequence's tokens (special tokens included, as sentence-transformers does).
        case mean
        /// The first token's vector ([CLS]).
        case cls
        /// The element-wise maximum over the tokens.
        case max
        /// The sum over the tokens divided by √count (`pooling_mode_mean_sqrt_len_tokens`).
        case meanSqrtLength = "mean_sqrt_len"
        /// The last token's vector (`pooling_mode_lasttoken`).
        case lastToken = "last"

        /// llama.cpp's `pooling_type` code (`LLAMA_POOLING_TYPE_*`), nil for poolings it lacks.
        public var llamaCppPoolingType: Int? {
            switch self {
            case .mean: return 1
            case .cls: return 2
            case .lastToken: return 3
            case .max, .meanSqrtLength: return nil
            }
        }
    }

    /// Settings to change, each nil to keep what the model says (`embed --pooling …`).
    public struct Overrides: Sendable, Hashable {
        public var pooling: Pooling?
        public var normalize: Bool?
        public var maxSequenceLength: Int?

        /// Changes nothing unless given.
        public init(pooling: Pooling? = nil, normalize: Bool? = nil, maxSequenceLength: Int? = nil) {
            self.pooling = pooling
            self.normalize = normalize
            self.maxSequenceLength = maxSequenceLength
        }
    }

    /// These settings with `overrides` applied.
    public func applying(_ overrides: Overrides) -> EmbeddingSettings {
        EmbeddingSettings(
            pooling: overrides.pooling ?? pooling, normalize: overrides.normalize ?? normalize,
            maxSequenceLength: overrides.maxSequenceLength ?? maxSequenceLength)
    }

    /// Pooling of the last layer's token vectors.
    public var pooling: Pooling
    /// Whether the pooled vector is divided by its L2 norm.
    public var normalize: Bool
    /// Longest token sequence read (special tokens included); longer texts are cut, keeping the
    /// special tokens, as the tokenizer's `longest_first` truncation does. Nil: the model's context.
    public var maxSequenceLength: Int?

    /// Creates settings.
    public init(pooling: Pooling = .mean, normalize: Bool = true, maxSequenceLength: Int? = nil) {
        self.pooling = pooling
        self.normalize = normalize
        self.maxSequenceLength = maxSequenceLength
    }

    /// The pack metadata keys `convert` writes them under, and `read(path:)` reads.
    public static let packPoolingKey = "sentence_transformers.pooling"
    /// See `packPoolingKey`.
    public static let packNormalizeKey = "sentence_transformers.normalize"
    /// See `packPoolingKey`.
    public static let packMaxLengthKey = "sentence_transformers.max_seq_length"

    /// The settings of a model at `path`: a sentence-transformers folder's files, a pack's
    /// `sentence_transformers.*` metadata, or a GGUF's `{arch}.pooling_type` (mean + L2 when
    /// absent, as llama.cpp's embedding example normalises by default).
    ///
    /// - Throws: `GraphError.invalidConfig` naming the file and key for a module or pooling mode
    ///   that is not implemented or malformed.
    public static func read(path: String) throws -> EmbeddingSettings {
        if FormatDetector.kind(of: path) != .file { return try folder(path) }
        switch try FormatDetector.detect(path: path) {
        case .wkp: return try pack(PackReader(path: path).metadata, path: path)
        case .gguf: return try gguf(GGUFFile(path: path).metadata, path: path)
        default: return EmbeddingSettings()
        }
    }

    /// The settings of a loaded model, from the metadata its loader already read (no file is
    /// parsed again), or its folder's sentence-transformers files.
    public static func read(model: LoadedModel) throws -> EmbeddingSettings {
        if let file = model.source as? GGUFFile { return try gguf(file.metadata, path: model.path) }
        if let reader = model.source as? PackReader { return try pack(reader.metadata, path: model.path) }
        return FormatDetector.kind(of: model.path) == .file ? EmbeddingSettings() : try folder(model.path)
    }

    /// The pack metadata of a sentence-transformers folder's settings, for `convert` and
    /// `quantize` into a pack; empty for a folder without modules.json or sentence_bert_config.json.
    static func packMetadata(folder path: String) throws -> Metadata {
        let names = try FormatDetector.listDirectory(path)
        guard names.contains("modules.json") || names.contains("sentence_bert_config.json") else { return Metadata() }
        return try folder(path).packMetadata
    }

    /// From a sentence-transformers folder (defaults when it has no modules.json).
    static func folder(_ path: String) throws -> EmbeddingSettings {
        var settings = EmbeddingSettings()
        let names = try FormatDetector.listDirectory(path)
        if names.contains("sentence_bert_config.json") {
            let file = joinPath(path, "sentence_bert_config.json")
            let json = try HuggingFaceFolder.readJSONObject(file)
            if let v = json["max_seq_length"], v != .null {
                guard let n = v.int, n > 0 else { throw invalid(file, "\"max_seq_length\" must be a positive integer, found \(JSONWriter.serialize(v))") }
                settings.maxSequenceLength = n
            }
        }
        guard names.contains("modules.json") else { return settings }
        let file = joinPath(path, "modules.json")
        let modules = try TextFile.read(file, cap: 1 << 20)
        guard let list = try? JSON.parse(modules).array else { throw invalid(file, "expected a list of modules") }
        settings.normalize = false
        var pooled = false
        for module in list {
            let type = module.object?["type"]?.string ?? ""
            let name = type.split(separator: ".").last.map(String.init) ?? type
            switch name {
            case "Transformer": continue
            case "Pooling":
                let folder = module.object?["path"]?.string ?? ""
                settings.pooling = try pooling(joinPath(joinPath(path, folder), "config.json"))
                pooled = true
            case "Normalize": settings.normalize = true
            default: throw invalid(file, "module \"\(type)\" is not implemented (Transformer, Pooling, Normalize)")
            }
        }
        guard pooled else { throw invalid(file, "no Pooling module: the token vectors would not become one embedding") }
        return settings
    }

    /// The one pooling mode a `1_Pooling/config.json` turns on.
    static func pooling(_ file: String) throws -> Pooling {
        let json = try HuggingFaceFolder.readJSONObject(file)
        if let mode = json["pooling_mode"]?.string {  // the newer single-key spelling
            let map: [String: Pooling] = ["mean": .mean, "cls": .cls, "max": .max, "mean_sqrt_len_tokens": .meanSqrtLength, "lasttoken": .lastToken]
            guard let p = map[mode] else { throw invalid(file, "\"pooling_mode\": \"\(mode)\" is not implemented (mean, cls, max, mean_sqrt_len_tokens, lasttoken)") }
            return p
        }
        let keys: [(String, Pooling?)] = [
            ("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .cls), ("pooling_mode_max_tokens", .max),
            ("pooling_mode_mean_sqrt_len_tokens", .meanSqrtLength), ("pooling_mode_lasttoken", .lastToken),
            ("pooling_mode_weightedmean_tokens", nil),
        ]
        var on: [(String, Pooling?)] = []
        for (key, mode) in keys {
            guard let v = json[key], v != .null else { continue }
            guard let b = v.bool else { throw invalid(file, "\"\(key)\" must be true or false, found \(JSONWriter.serialize(v))") }
            if b { on.append((key, mode)) }
        }
        guard on.count == 1 else {
            let names = on.map(\.0).joined(separator: ", ")
            throw invalid(file, on.isEmpty ? "no pooling mode is on" : "several pooling modes are on (\(names)); their concatenation is not implemented")
        }
        guard let mode = on[0].1 else { throw invalid(file, "\"\(on[0].0)\" is not implemented (mean, cls, max, mean_sqrt_len, lasttoken)") }
        return mode
    }

    /// From a pack's metadata (mean + L2 when it has none).
    static func pack(_ metadata: Metadata, path: String) throws -> EmbeddingSettings {
        var settings = EmbeddingSettings()
        if let name = metadata[packPoolingKey]?.stringValue {
            guard let p = Pooling(rawValue: name) else { throw invalid(path, "\"\(packPoolingKey)\": \"\(name)\" is not a pooling WeightKit knows") }
            settings.pooling = p
        }
        if let v = metadata[packNormalizeKey]?.stringValue { settings.normalize = v == "true" }
        if let v = metadata[packMaxLengthKey]?.stringValue {
            guard let n = Int(v), n > 0 else { throw invalid(path, "\"\(packMaxLengthKey)\": \"\(v)\" is not a positive integer") }
            settings.maxSequenceLength = n
        }
        return settings
    }

    /// From GGUF metadata: llama.cpp's `{arch}.pooling_type` (1 mean, 2 cls, 3 last).
    static func gguf(_ metadata: Metadata, path: String) throws -> EmbeddingSettings {
        var settings = EmbeddingSettings()
        let arch = metadata["general.architecture"]?.stringValue ?? ""
        if let v = metadata["\(arch).pooling_type"] {
            let code: Int? = switch v {
            case .int(let n): Int(exactly: n)
            case .uint(let n): Int(exactly: n)
            default: nil
            }
            guard let p = Pooling.allCases.first(where: { $0.llamaCppPoolingType != nil && $0.llamaCppPoolingType == code }) else {
                throw invalid(path, "\"\(arch).pooling_type\" \(v) is not implemented (1 mean, 2 cls, 3 last)")
            }
            settings.pooling = p
        }
        return settings
    }

    /// The pack metadata that records these settings (`convert` to .wkp).
    public var packMetadata: Metadata {
        var m = Metadata()
        m[Self.packPoolingKey] = .string(pooling.rawValue)
        m[Self.packNormalizeKey] = .string(normalize ? "true" : "false")
        if let maxSequenceLength { m[Self.packMaxLengthKey] = .string(String(maxSequenceLength)) }
        return m
    }

    static func invalid(_ file: String, _ message: String) -> GraphError {
        GraphError(.invalidConfig, message, path: file)
    }
}
