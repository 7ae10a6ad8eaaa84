import WeightKitCore

/// GGUF's embedded tokenizer (`tokenizer.ggml.*`) ↔ Hugging Face `tokenizer.json` and
/// `tokenizer_config.json`, for byte-level BPE (`tokenizer.ggml.model` = `gpt2`: GPT-2, Llama 3,
/// Qwen2, SmolLM2).
public enum GGUFTokenizer {
    /// llama.cpp token types (`llama_token_type`).
    public enum TokenType: Int64, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// Pre-tokenizer regexes of the `tokenizer.ggml.pre` values that are not plain GPT-2.
    static let splitRegex: [String: String] = [
        "llama-bpe": #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
        "qwen2": #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#,
    ]

    static func strings(_ value: MetadataValue?) -> [String]? {
        guard case .array(let items)? = value else { return nil }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard case .string(let s) = item else { return nil }
            out.append(s)
        }
        return out
    }

    static func integers(_ value: MetadataValue?) -> [Int64]? {
        guard case .array(let items)? = value else { return nil }
        return items.compactMap {
            switch $0 {
            case .int(let i): return i
            case .uint(let u): return Int64(exactly: u)
            default: return nil
            }
        }
    }

    static func id(_ metadata: Metadata, _ which: String) -> Int? {
        switch metadata["tokenizer.ggml.\(which)_token_id"] {
        case .uint(let u)?: return Int(exactly: u)
        case .int(let i)?: return Int(exactly: i)
        default: return nil
        }
    }

    /// tokenizer.json for a GGUF byte-level BPE tokenizer, or nil when the file has none (or
    /// another model kind: SentencePiece `llama` vocabularies are not converted yet).
    public static func tokenizerJSON(ggufMetadata metadata: Metadata) -> JSONValue? {
        guard metadata["tokenizer.ggml.model"]?.stringValue == "gpt2",
            let tokens = strings(metadata["tokenizer.ggml.tokens"]),
            let merges = strings(metadata["tokenizer.ggml.merges"])
        else { return nil }
        let types = integers(metadata["tokenizer.ggml.token_type"]) ?? []
        var vocab = JSONObject()
        var added: [JSONValue] = []
        for (i, token) in tokens.enumerated() {
            if vocab[token] == nil { vocab.set(token, .integer(i)) }
            let type = i < types.count ? types[i] : TokenType.normal.rawValue
            if type == TokenType.control.rawValue || type == TokenType.userDefined.rawValue {
                let special = type == TokenType.control.rawValue
                added.append([
                    "id": .integer(i), "content": .string(token), "single_word": false, "lstrip": false,
                    "rstrip": false, "normalized": .bool(!special), "special": .bool(special),
                ])
            }
        }
        let byteLevel: JSONValue = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let pre = metadata["tokenizer.ggml.pre"]?.stringValue ?? "default"
        let preTokenizer: JSONValue
        if pre == "smollm" {
            preTokenizer = ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel]]
        } else if let regex = splitRegex[pre] {
            let split: JSONValue = ["type": "Split", "pattern": ["Regex": .string(regex)], "behavior": "Isolated", "invert": false]
            preTokenizer = ["type": "Sequence", "pretokenizers": [
                split, ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false],
            ]]
        } else {
            preTokenizer = byteLevel
        }
        let model: JSONValue = [
            "type": "BPE", "dropout": .null, "unk_token": .null, "continuing_subword_prefix": .null,
            "end_of_word_suffix": .null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
            "vocab": .object(vocab), "merges": .array(merges.map { .string($0) }),
        ]
        return [
            "version": "1.0", "truncation": .null, "padding": .null, "added_tokens": .array(added),
            "normalizer": .null, "pre_tokenizer": preTokenizer,
            "post_processor": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true],
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": model,
        ]
    }

    /// tokenizer_config.json: special tokens, add_bos, chat template, context length.
    public static func tokenizerConfig(ggufMetadata metadata: Metadata, contextLength: Int?) -> JSONValue {
        let tokens = strings(metadata["tokenizer.ggml.tokens"]) ?? []
        var config = JSONObject()
        if case .bool(let b)? = metadata["tokenizer.ggml.add_bos_token"] { config.set("add_bos_token", .bool(b)) }
        if case .bool(let b)? = metadata["tokenizer.ggml.add_eos_token"] { config.set("add_eos_token", .bool(b)) }
        for (key, which) in [("bos_token", "bos"), ("eos_token", "eos"), ("unk_token", "unknown"), ("pad_token", "padding")] {
            if let id = id(metadata, which), id < tokens.count { config.set(key, .string(tokens[id])) }
        }
        if let template = metadata["tokenizer.chat_template"]?.stringValue { config.set("chat_template", .string(template)) }
        config.set("clean_up_tokenization_spaces", false)
        if let contextLength { config.set("model_max_length", .integer(contextLength)) }
        config.set("tokenizer_class", "GPT2Tokenizer")
        return .object(config)
    }

    /// `tokenizer.ggml.*` keys for a byte-level BPE tokenizer.json (nil for other kinds).
    ///
    /// - Parameters:
    ///   - tokenizerConfig: tokenizer_config.json (special token strings, add_bos, chat template).
    ///   - config: config.json (`bos_token_id`, `eos_token_id` when the tokenizer config has none).
    public static func ggufMetadata(tokenizerJSON json: JSONObject, tokenizerConfig: JSONObject?, config: JSONObject?) -> Metadata? {
        guard let model = json["model"]?.object, model["type"]?.string == "BPE", let vocab = model["vocab"]?.object,
            model["byte_fallback"]?.bool != true
        else { return nil }
        var byID: [Int: String] = [:]
        for (token, id) in vocab.entries { if let id = id.int, id >= 0 { byID[id] = token } }
        var types: [Int: TokenType] = [:]
        for item in json["added_tokens"]?.array ?? [] {
            guard let o = item.object, let id = o["id"]?.int, id >= 0, let content = o["content"]?.string else { continue }
            byID[id] = content
            types[id] = o["special"]?.bool == true ? .control : .userDefined
        }
        let count = (byID.keys.max() ?? -1) + 1
        var tokens: [MetadataValue] = [], tokenTypes: [MetadataValue] = []
        tokens.reserveCapacity(count)
        var ids: [String: Int] = [:]
        for i in 0..<count {
            let token = byID[i] ?? "[PAD\(i)]"
            tokens.append(.string(token))
            tokenTypes.append(.int((byID[i] == nil ? .unused : types[i] ?? .normal).rawValue))
            if ids[token] == nil { ids[token] = i }
        }
        let merges: [MetadataValue] = (model["merges"]?.array ?? []).compactMap { m in
            if let s = m.string { return .string(s) }
            if let pair = m.array?.compactMap(\.string), pair.count == 2 { return .string(pair[0] + " " + pair[1]) }
            return nil
        }
        var meta = Metadata()
        meta["tokenizer.ggml.model"] = .string("gpt2")
        meta["tokenizer.ggml.pre"] = .string(preName(json["pre_tokenizer"]))
        meta["tokenizer.ggml.tokens"] = .array(tokens)
        meta["tokenizer.ggml.token_type"] = .array(tokenTypes)
        meta["tokenizer.ggml.merges"] = .array(merges)
        for (key, which, configKey) in [
            ("bos_token", "bos", "bos_token_id"), ("eos_token", "eos", "eos_token_id"),
            ("unk_token", "unknown", "unk_token_id"), ("pad_token", "padding", "pad_token_id"),
        ] {
            let text = tokenizerConfig?[key].flatMap { $0.string ?? $0.object?["content"]?.string }
            if let text, let id = ids[text] {
                meta["tokenizer.ggml.\(which)_token_id"] = .uint(UInt64(id))
            } else if let id = config?[configKey]?.int, id >= 0 {
                meta["tokenizer.ggml.\(which)_token_id"] = .uint(UInt64(id))
            }
        }
        meta["tokenizer.ggml.add_bos_token"] = .bool(tokenizerConfig?["add_bos_token"]?.bool ?? false)
        if let template = tokenizerConfig?["chat_template"]?.string { meta["tokenizer.chat_template"] = .string(template) }
        return meta
    }

    /// The `tokenizer.ggml.pre` name for a tokenizer.json pre-tokenizer (the inverse of
    /// `tokenizerJSON`'s choice; `default` is GPT-2's).
    static func preName(_ pre: JSONValue?) -> String {
        guard let pre = pre?.object else { return "default" }
        if pre["type"]?.string == "Sequence", let parts = pre["pretokenizers"]?.array {
            if parts.first?.object?["type"]?.string == "Digits" { return "smollm" }
            if let regex = parts.first?.object?["pattern"]?.object?["Regex"]?.string,
                let name = splitRegex.first(where: { $0.value == regex })?.key
            {
                return name
            }
        }
        return "default"
    }
}
