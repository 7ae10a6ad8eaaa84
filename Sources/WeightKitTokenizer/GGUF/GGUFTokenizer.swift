import WeightKitCore

/// The translator between GGUF's embedded tokenizer (`tokenizer.ggml.*`) and Hugging Face
/// `tokenizer.json` + `tokenizer_config.json`. It is the only reading of those keys: a GGUF
/// tokenizer runs (`BPETokenizer.fromGGUFMetadata`) as the tokenizer.json made here, so running
/// a GGUF and running what `convert` writes from it cannot disagree.
///
/// Vocabularies: `gpt2` (byte-level BPE: GPT-2, Llama 3, Qwen2, SmolLM2; pre-tokenizer from
/// `GGUFPreTokenizer`), `llama` (SentencePiece BPE with byte fallback: Llama 2, Mistral),
/// `gemma4` (SentencePiece-style BPE with stored merges) and `bert` (WordPiece).
public enum GGUFTokenizer {
    /// llama.cpp token types (`llama_token_type`).
    public enum TokenType: Int64, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// tokenizer.json for a GGUF tokenizer, or nil when the file has none or one that
    /// `tokenizerJSON(validating:)` refuses.
    public static func tokenizerJSON(ggufMetadata metadata: Metadata) -> JSONValue? {
        try? tokenizerJSON(validating: metadata)
    }

    /// tokenizer.json for a GGUF tokenizer, or the reason there is none: a missing key, a value
    /// of the wrong type or size, or a tokenizer model or pre-tokenizer this build does not know.
    public static func tokenizerJSON(validating metadata: Metadata) throws(TokenizerError) -> JSONValue {
        let m = GGUFFields(metadata: metadata)
        let kind = try m.string("tokenizer.ggml.model")
        let tokens = try m.strings("tokenizer.ggml.tokens")
        guard tokens.count <= maxVocabularySize else {
            throw TokenizerError(.limitExceeded, "\(tokens.count) tokens exceed the limit of \(maxVocabularySize)", field: "tokenizer.ggml.tokens")
        }
        let types = try m.optionalInts("tokenizer.ggml.token_type") ?? []
        guard types.isEmpty || types.count == tokens.count else {
            throw TokenizerError(.invalidValue, "\(types.count) token types for \(tokens.count) tokens", field: "tokenizer.ggml.token_type")
        }
        let specials = try SpecialTokens(m, tokenCount: tokens.count)
        let parts: Parts
        switch kind {
        case "gpt2": parts = try byteLevel(m, tokens: tokens)
        case "llama": parts = try sentencePiece(m, tokens: tokens)
        case "gemma4": parts = try gemma4(m, tokens: tokens)
        case "bert": parts = try wordPiece(m, tokens: tokens, types: types)
        default:
            throw TokenizerError(.unsupported, "unsupported GGUF tokenizer model \"\(kind)\"", field: "tokenizer.ggml.model")
        }
        return [
            "version": "1.0", "truncation": .null, "padding": .null,
            "added_tokens": .array(addedTokens(tokens: tokens, types: types)),
            "normalizer": parts.normalizer, "pre_tokenizer": parts.preTokenizer,
            "post_processor": specials.postProcessor(
                tokens: tokens, addBosByDefault: kind == "llama" || kind == "bert" || kind == "gemma4", addEosByDefault: kind == "bert", otherwise: parts.postProcessor),
            "decoder": parts.decoder, "model": parts.model,
        ]
    }

    /// tokenizer_config.json: special tokens, add_bos/add_eos, chat template, context length.
    public static func tokenizerConfig(ggufMetadata metadata: Metadata, contextLength: Int?) -> JSONValue {
        let m = GGUFFields(metadata: metadata)
        let tokens = (try? m.strings("tokenizer.ggml.tokens")) ?? []
        var config = JSONObject()
        if case .bool(let b)? = metadata["tokenizer.ggml.add_bos_token"] { config.set("add_bos_token", .bool(b)) }
        if case .bool(let b)? = metadata["tokenizer.ggml.add_eos_token"] { config.set("add_eos_token", .bool(b)) }
        for (key, which) in [("bos_token", "bos"), ("eos_token", "eos"), ("unk_token", "unknown"), ("pad_token", "padding")] {
            if let id = (try? m.optionalInt("tokenizer.ggml.\(which)_token_id")) ?? nil, tokens.indices.contains(id) {
                config.set(key, .string(tokens[id]))
            }
        }
        if let template = metadata["tokenizer.chat_template"]?.stringValue { config.set("chat_template", .string(template)) }
        config.set("clean_up_tokenization_spaces", false)
        if let contextLength { config.set("model_max_length", .integer(contextLength)) }
        switch metadata["tokenizer.ggml.model"]?.stringValue {
        case "llama": config.set("tokenizer_class", "LlamaTokenizerFast")
        case "gemma4": config.set("tokenizer_class", "PreTrainedTokenizerFast")  // tokenizer.json as written
        case "bert":
            config.set("tokenizer_class", "BertTokenizerFast")
            if case .bool(let b)? = metadata["tokenizer.ggml.normalizer.lowercase"] { config.set("do_lower_case", .bool(b)) }
            for (key, which) in [("cls_token", "bos"), ("sep_token", "eos"), ("mask_token", "mask")] {
                if let id = (try? m.optionalInt("tokenizer.ggml.\(which)_token_id")) ?? nil, tokens.indices.contains(id) { config.set(key, .string(tokens[id])) }
            }
        default: config.set("tokenizer_class", "GPT2Tokenizer")
        }
        return .object(config)
    }

    /// The stages that differ between vocabulary kinds.
    private struct Parts {
        var normalizer: JSONValue = .null
        var preTokenizer: JSONValue = .null
        var postProcessor: JSONValue = .null
        var decoder: JSONValue
        var model: JSONValue
    }

    /// `tokenizer.ggml.merges`, checked: under the cap, each "left right".
    private static func storedMerges(_ m: GGUFFields) throws(TokenizerError) -> [String] {
        let merges = try m.strings("tokenizer.ggml.merges")
        guard merges.count <= BPEModel.maxMerges else {
            throw TokenizerError(.limitExceeded, "\(merges.count) merges exceed the limit of \(BPEModel.maxMerges)", field: "tokenizer.ggml.merges")
        }
        for (i, merge) in merges.enumerated() where !merge.unicodeScalars.contains(" ") {
            throw TokenizerError(.invalidValue, "merge \"\(merge)\" has no space", field: "tokenizer.ggml.merges[\(i)]")
        }
        return merges
    }

    /// Byte-level BPE: tokens and merges as stored, stages from the pre-tokenizer table.
    private static func byteLevel(_ m: GGUFFields, tokens: [String]) throws(TokenizerError) -> Parts {
        let merges = try storedMerges(m)
        let pre = try GGUFPreTokenizer.named(try m.optionalString("tokenizer.ggml.pre"))
        let model = bpeModel(
            tokens: tokens, merges: merges.map { .string($0) }, unkToken: .null, byteFallback: false, ignoreMerges: pre.ignoreMerges)
        return Parts(
            normalizer: pre.normalizer, preTokenizer: pre.preTokenizer,
            postProcessor: ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true],
            decoder: ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true], model: model)
    }

    /// SentencePiece BPE: merges rebuilt from the scores, `▁` for spaces (and before the text
    /// unless `add_space_prefix` is false), `<0xNN>` byte fallback.
    private static func sentencePiece(_ m: GGUFFields, tokens: [String]) throws(TokenizerError) -> Parts {
        let scores = try m.doubles("tokenizer.ggml.scores")
        guard scores.count == tokens.count else {
            throw TokenizerError(.invalidValue, "\(scores.count) scores for \(tokens.count) tokens", field: "tokenizer.ggml.scores")
        }
        let unkId = try m.optionalInt("tokenizer.ggml.unknown_token_id")
        let unk: JSONValue = unkId.flatMap { tokens.indices.contains($0) ? .string(tokens[$0]) : nil } ?? .null
        let merges = mergesFromScores(tokens: tokens, scores: scores)
        guard merges.count <= BPEModel.maxMerges else {
            throw TokenizerError(.limitExceeded, "\(merges.count) merges exceed the limit of \(BPEModel.maxMerges)", field: "tokenizer.ggml.scores")
        }
        let addSpace = try m.optionalBool("tokenizer.ggml.add_space_prefix") ?? true
        let replace: JSONValue = ["type": "Replace", "pattern": ["String": " "], "content": "▁"]
        var decoders: [JSONValue] = [
            ["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "ByteFallback"], ["type": "Fuse"],
        ]
        if addSpace { decoders.append(["type": "Strip", "content": " ", "start": 1, "stop": 0]) }
        return Parts(
            normalizer: addSpace ? ["type": "Sequence", "normalizers": [["type": "Prepend", "prepend": "▁"], replace]] : replace,
            decoder: ["type": "Sequence", "decoders": .array(decoders)],
            model: bpeModel(
                tokens: tokens, merges: merges.map { .array([.string($0.0), .string($0.1)]) }, unkToken: unk,
                byteFallback: true, ignoreMerges: false))
    }

    /// Gemma 4's BPE (llama.cpp's `gemma4`): SentencePiece-style pieces (`▁` for each space,
    /// `<0xNN>` byte fallback) with merges stored as byte-level files store them. Nothing is
    /// prefixed and no pre-tokenizer splits the text, so the merges run over the whole text, as
    /// `tokenizers` runs Gemma 4's tokenizer.json (llama.cpp gets the same ids by cutting only
    /// at line breaks). `add_space_prefix`, which llama.cpp ignores for this model, is not read.
    private static func gemma4(_ m: GGUFFields, tokens: [String]) throws(TokenizerError) -> Parts {
        let merges = try storedMerges(m)
        let unkId = try m.optionalInt("tokenizer.ggml.unknown_token_id")
        let unk: JSONValue = unkId.flatMap { tokens.indices.contains($0) ? .string(tokens[$0]) : nil } ?? .null
        return Parts(
            normalizer: ["type": "Replace", "pattern": ["String": " "], "content": "▁"],
            decoder: ["type": "Sequence", "decoders": [
                ["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "ByteFallback"], ["type": "Fuse"],
            ]],
            model: bpeModel(tokens: tokens, merges: merges.map { .string($0) }, unkToken: unk, byteFallback: true, ignoreMerges: false))
    }

    /// WordPiece (llama.cpp's `bert`): the converter's "phantom space" vocabulary turned back
    /// into BERT's — a word-initial piece is stored with a leading `▁`, a continuation without
    /// its `##`, control tokens as they are — and BERT's normaliser (lowercasing as
    /// `tokenizer.ggml.normalizer.lowercase` says, true when absent) and pre-tokenizer.
    private static func wordPiece(_ m: GGUFFields, tokens: [String], types: [Int]) throws(TokenizerError) -> Parts {
        let unkId = try m.optionalInt("tokenizer.ggml.unknown_token_id")
        guard let unkId, tokens.indices.contains(unkId) else {
            throw TokenizerError(.invalidValue, "a WordPiece vocabulary needs an unknown token inside the vocabulary", field: "tokenizer.ggml.unknown_token_id")
        }
        var vocab = JSONObject()
        for (i, token) in tokens.enumerated() {
            let piece = wordPieceToken(token, type: types.indices.contains(i) ? types[i] : nil)
            if vocab[piece] == nil { vocab.set(piece, .integer(i)) }
        }
        let lowercase = try m.optionalBool("tokenizer.ggml.normalizer.lowercase") ?? true
        return Parts(
            normalizer: ["type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": .null, "lowercase": .bool(lowercase)],
            preTokenizer: ["type": "BertPreTokenizer"],
            decoder: ["type": "WordPiece", "prefix": "##", "cleanup": true],
            model: [
                "type": "WordPiece", "unk_token": .string(wordPieceToken(tokens[unkId], type: types.indices.contains(unkId) ? types[unkId] : nil)),
                "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": .object(vocab),
            ])
    }

    /// A BERT vocabulary entry from its llama.cpp spelling (see `wordPiece`).
    /// Prefixes are compared as scalars, not characters: a combining mark after `##` or `▁`
    /// (`##ा`) joins it in one Character, and `hasPrefix` would not see the prefix.
    static func wordPieceToken(_ stored: String, type: Int?) -> String {
        if type == Int(TokenType.control.rawValue) { return stored }
        if stored.unicodeScalars.first == "\u{2581}" { return String(String.UnicodeScalarView(stored.unicodeScalars.dropFirst())) }
        return "##" + stored
    }

    /// llama.cpp's spelling of a BERT vocabulary entry (convert_hf_to_gguf.py's `phantom`).
    static func phantomToken(_ token: String, control: Bool) -> String {
        if control { return token }
        if token.unicodeScalars.starts(with: "##".unicodeScalars) { return String(String.UnicodeScalarView(token.unicodeScalars.dropFirst(2))) }
        return "\u{2581}" + token
    }

    /// The tokenizer.json `model` object; a token listed twice keeps its first id.
    private static func bpeModel(
        tokens: [String], merges: [JSONValue], unkToken: JSONValue, byteFallback: Bool, ignoreMerges: Bool
    ) -> JSONValue {
        var vocab = JSONObject()
        for (i, token) in tokens.enumerated() where vocab[token] == nil { vocab.set(token, .integer(i)) }
        return [
            "type": "BPE", "dropout": .null, "unk_token": unkToken, "continuing_subword_prefix": .null,
            "end_of_word_suffix": .null, "fuse_unk": .bool(byteFallback), "byte_fallback": .bool(byteFallback),
            "ignore_merges": .bool(ignoreMerges), "vocab": .object(vocab), "merges": .array(merges),
        ]
    }

    /// Control and unknown tokens become special added tokens, user-defined ones plain added
    /// tokens; all match the raw text (`normalized` false), as llama.cpp matches them.
    private static func addedTokens(tokens: [String], types: [Int]) -> [JSONValue] {
        var out: [JSONValue] = []
        for (i, raw) in types.enumerated() {
            let special: Bool
            switch TokenType(rawValue: Int64(raw)) {
            case .control?, .unknown?: special = true
            case .userDefined?: special = false
            default: continue
            }
            out.append([
                "id": .integer(i), "content": .string(tokens[i]), "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": .bool(special),
            ])
        }
        return out
    }
}
