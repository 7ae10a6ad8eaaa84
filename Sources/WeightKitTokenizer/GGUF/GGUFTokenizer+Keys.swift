import WeightKitCore

extension GGUFTokenizer {
    /// `tokenizer.ggml.*` keys for a byte-level BPE tokenizer.json (nil for other kinds), with
    /// `tokenizer.ggml.pre` from the same table that reads them back.
    ///
    /// - Parameters:
    ///   - tokenizerConfig: tokenizer_config.json (special token strings, add_bos, chat template).
    ///   - config: config.json (`bos_token_id`, `eos_token_id` when the tokenizer config has none).
    public static func ggufMetadata(tokenizerJSON json: JSONObject, tokenizerConfig: JSONObject?, config: JSONObject?) -> Metadata? {
        if json["model"]?.object?["type"]?.string == "WordPiece" { return wordPieceMetadata(tokenizerJSON: json, config: config) }
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
            return BPEModel.mergePair(m).map { .string($0.0 + " " + $0.1) }
        }
        var meta = Metadata()
        meta["tokenizer.ggml.model"] = .string("gpt2")
        meta["tokenizer.ggml.pre"] = .string(GGUFPreTokenizer.name(tokenizerJSON: json))
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

    /// `tokenizer.ggml.*` keys for a WordPiece (BERT) tokenizer.json, as convert_hf_to_gguf.py's
    /// BertModel writes them: the phantom-space vocabulary, token types, [CLS] as BOS and [SEP]
    /// as EOS (both added), unknown/padding/mask ids, lowercasing. nil when the vocabulary lacks
    /// [CLS], [SEP] or the unknown token.
    static func wordPieceMetadata(tokenizerJSON json: JSONObject, config: JSONObject?) -> Metadata? {
        guard let model = json["model"]?.object, let vocab = model["vocab"]?.object else { return nil }
        var byID: [Int: String] = [:]
        for (token, id) in vocab.entries { if let id = id.int, id >= 0 { byID[id] = token } }
        var control = Set<Int>()
        for item in json["added_tokens"]?.array ?? [] {
            guard let o = item.object, let id = o["id"]?.int, id >= 0, let content = o["content"]?.string else { continue }
            byID[id] = content
            if o["special"]?.bool == true { control.insert(id) }
        }
        let count = (byID.keys.max() ?? -1) + 1
        var ids: [String: Int] = [:]
        for (id, token) in byID where ids[token] == nil || ids[token]! > id { ids[token] = id }
        let unk = model["unk_token"]?.string ?? "[UNK]"
        guard let cls = ids["[CLS]"], let sep = ids["[SEP]"], let unkID = ids[unk] else { return nil }
        var tokens: [MetadataValue] = [], types: [MetadataValue] = []
        for i in 0..<count {
            let token = byID[i] ?? "[PAD\(i)]"
            tokens.append(.string(phantomToken(token, control: control.contains(i))))
            types.append(.int((byID[i] == nil ? TokenType.unused : control.contains(i) ? .control : .normal).rawValue))
        }
        var meta = Metadata()
        meta["tokenizer.ggml.token_type_count"] = .uint(UInt64(config?["type_vocab_size"]?.int ?? 2))
        meta["tokenizer.ggml.model"] = .string("bert")
        meta["tokenizer.ggml.pre"] = .string("default")
        meta["tokenizer.ggml.tokens"] = .array(tokens)
        meta["tokenizer.ggml.token_type"] = .array(types)
        meta["tokenizer.ggml.bos_token_id"] = .uint(UInt64(cls))
        meta["tokenizer.ggml.eos_token_id"] = .uint(UInt64(sep))
        meta["tokenizer.ggml.unknown_token_id"] = .uint(UInt64(unkID))
        meta["tokenizer.ggml.seperator_token_id"] = .uint(UInt64(sep))  // llama.cpp's spelling
        if let pad = ids["[PAD]"] { meta["tokenizer.ggml.padding_token_id"] = .uint(UInt64(pad)) }
        if let mask = ids["[MASK]"] { meta["tokenizer.ggml.mask_token_id"] = .uint(UInt64(mask)) }
        meta["tokenizer.ggml.add_bos_token"] = .bool(true)
        meta["tokenizer.ggml.add_eos_token"] = .bool(true)
        let normalizer = json["normalizer"]?.object
        meta["tokenizer.ggml.normalizer.lowercase"] = .bool(normalizer?["type"]?.string == "BertNormalizer" ? normalizer?["lowercase"]?.bool ?? true : false)
        return meta
    }
}
