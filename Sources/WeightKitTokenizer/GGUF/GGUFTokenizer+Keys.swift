import WeightKitCore

extension GGUFTokenizer {
    /// `tokenizer.ggml.*` keys for a byte-level BPE tokenizer.json (nil for other kinds), with
    /// `tokenizer.ggml.pre` from the same table that reads them back.
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
}
