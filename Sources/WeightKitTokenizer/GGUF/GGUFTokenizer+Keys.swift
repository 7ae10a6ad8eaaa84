import WeightKitCore

extension GGUFTokenizer {
    /// `tokenizer.ggml.*` keys for a tokenizer.json (nil for kinds other than byte-level BPE and
    /// WordPiece), with `tokenizer.ggml.pre` from the same table that reads them back.
    ///
    /// - Parameters:
    ///   - tokenizerConfig: tokenizer_config.json (special token strings, add_bos, chat template).
    ///   - config: config.json (`bos_token_id`, `eos_token_id` when the tokenizer config has none).
    /// - Throws: `TokenizerError` `.unsupported` when the normalizer and pre-tokenizer stages
    ///   match no `tokenizer.ggml.pre` llama.cpp knows (as llama.cpp's converter refuses them).
    public static func ggufMetadata(tokenizerJSON json: JSONObject, tokenizerConfig: JSONObject?, config: JSONObject?) throws(TokenizerError) -> Metadata? {
        try ggufMetadata(files: FolderFiles(tokenizerJSON: json, tokenizerConfig: tokenizerConfig, config: config))
    }

    /// `tokenizer.ggml.*` keys for a folder's tokenizer.json: the vocabulary (byte-level BPE as
    /// `gpt2`, WordPiece as `bert`) and the special ids, add flags and chat template llama.cpp's
    /// converter takes from the folder's files (`SpecialVocabulary`). nil without a tokenizer.json
    /// or for another kind.
    ///
    /// - Throws: `TokenizerError` `.unsupported` for byte-level BPE stages matching no
    ///   `tokenizer.ggml.pre`.
    public static func ggufMetadata(files: FolderFiles) throws(TokenizerError) -> Metadata? {
        guard let json = files.tokenizerJSON else { return nil }
        var meta: Metadata
        let vocabularySize: Int?
        if json["model"]?.object?["type"]?.string == "WordPiece" {
            guard let words = wordPieceMetadata(tokenizerJSON: json, config: files.config) else { return nil }
            meta = words
            vocabularySize = { if case .array(let t)? = words["tokenizer.ggml.tokens"] { t.count } else { nil } }()
        } else {
            guard let bpe = try byteLevelMetadata(tokenizerJSON: json) else { return nil }
            meta = bpe
            vocabularySize = nil  // _set_vocab_gpt2's SpecialVocab takes no n_vocab
        }
        let special = try SpecialVocabulary(
            tokenizerJSON: json, tokenizerConfig: files.tokenizerConfig, config: files.config,
            chatTemplateJinja: files.chatTemplateJinja, chatTemplateJSON: files.chatTemplateJSON, vocabularySize: vocabularySize)
        for (k, v) in special.metadata.entries { meta[k] = v }
        return meta
    }

    /// The vocabulary keys of a byte-level BPE tokenizer.json (`get_vocab_base`): tokens by id
    /// (holes `[PADn]`, unused), added tokens control or user-defined, merges, pre-tokenizer.
    static func byteLevelMetadata(tokenizerJSON json: JSONObject) throws(TokenizerError) -> Metadata? {
        guard let model = json["model"]?.object, model["type"]?.string == "BPE", let vocab = model["vocab"]?.object,
            model["byte_fallback"]?.bool != true
        else { return nil }
        guard let pre = GGUFPreTokenizer.name(tokenizerJSON: json) else {
            throw TokenizerError(
                .unsupported,
                "the normalizer and pre-tokenizer stages (\(GGUFPreTokenizer.stages(tokenizerJSON: json))) match no tokenizer.ggml.pre llama.cpp knows; llama.cpp's converter refuses such a tokenizer too",
                field: "pre_tokenizer")
        }
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
        for i in 0..<count {
            tokens.append(.string(byID[i] ?? "[PAD\(i)]"))
            tokenTypes.append(.int((byID[i] == nil ? .unused : types[i] ?? .normal).rawValue))
        }
        let merges: [MetadataValue] = (model["merges"]?.array ?? []).compactMap { m in
            if let s = m.string { return .string(s) }
            return BPEModel.mergePair(m).map { .string($0.0 + " " + $0.1) }
        }
        var meta = Metadata()
        meta["tokenizer.ggml.model"] = .string("gpt2")
        meta["tokenizer.ggml.pre"] = .string(pre)
        meta["tokenizer.ggml.tokens"] = .array(tokens)
        meta["tokenizer.ggml.token_type"] = .array(tokenTypes)
        meta["tokenizer.ggml.merges"] = .array(merges)
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

extension GGUFTokenizer {
    /// Hugging Face architectures whose llama.cpp converter (`LlamaModel.set_vocab`) reads the
    /// vocabulary from tokenizer.model first: Llama 2, Mistral, Mixtral, TinyLlama.
    public static let sentencePieceArchitectures: Set<String> = [
        "LlamaForCausalLM", "LLaMAForCausalLM", "MistralForCausalLM", "MixtralForCausalLM",
    ]

    /// The files of a Hugging Face folder that decide its GGUF tokenizer keys.
    public struct FolderFiles: Sendable {
        /// tokenizer.json, tokenizer_config.json, config.json, added_tokens.json.
        public var tokenizerJSON, tokenizerConfig, config, addedTokens: JSONObject?
        /// chat_template.jinja's text.
        public var chatTemplateJinja: String?
        /// chat_template.json's `chat_template`.
        public var chatTemplateJSON: JSONValue?

        public init(
            tokenizerJSON: JSONObject? = nil, tokenizerConfig: JSONObject? = nil, config: JSONObject? = nil,
            addedTokens: JSONObject? = nil, chatTemplateJinja: String? = nil, chatTemplateJSON: JSONValue? = nil
        ) {
            self.tokenizerJSON = tokenizerJSON
            self.tokenizerConfig = tokenizerConfig
            self.config = config
            self.addedTokens = addedTokens
            self.chatTemplateJinja = chatTemplateJinja
            self.chatTemplateJSON = chatTemplateJSON
        }
    }

    /// `tokenizer.ggml.*` keys for a SentencePiece tokenizer.model, as llama.cpp's converter
    /// writes them for Llama-family folders (`_create_vocab_sentencepiece`, `SpecialVocab`):
    /// model `llama`, pre `default`; one token per id up to config.json's `vocab_size` (missing
    /// ids `[PADn]`, score −10000, unused); each piece's score and type (user-defined pieces
    /// count as normal, as `SentencePieceProcessor` reports them); added_tokens.json entries and
    /// tokenizer_config's `added_tokens_decoder` over them (score −1000; control when marked
    /// special or looking special, else user-defined with ▁ read as a space); special ids,
    /// add-BOS/EOS and chat template from `SpecialVocabulary`; `add_space_prefix` from
    /// tokenizer_config's `add_prefix_space`.
    ///
    /// - Throws: `TokenizerError` for an added-token id that is not an integer, a negative
    ///   special id, or CodeLlama's 32016-token vocabulary (its infill ids are not written).
    public static func ggufMetadata(sentencePiece model: SentencePieceModel, files: FolderFiles) throws(TokenizerError) -> Metadata {
        let config = files.config
        let declared = (config?["vocab_size_per_layer_input"]?.int).flatMap { $0 > 0 ? $0 : nil }
            ?? (config?["vocab_size"]?.int).flatMap { $0 > 0 ? $0 : nil }
        let count = declared ?? model.pieces.count
        guard count <= maxVocabularySize else {
            throw TokenizerError(.limitExceeded, "vocab_size \(count) exceeds the limit of \(maxVocabularySize)", field: "config.json vocab_size")
        }
        guard count != 32016 else {
            throw TokenizerError(.unsupported, "CodeLlama's vocabulary (vocab_size 32016, infill tokens 32007–32010) is not converted", field: "config.json vocab_size")
        }
        var tokens = (0..<count).map { "[PAD\($0)]" }
        var scores = [Float](repeating: -10000, count: count)
        var types = [TokenType](repeating: .unused, count: count)
        for (id, piece) in model.pieces.enumerated() where id < count {
            tokens[id] = piece.text
            scores[id] = piece.score
            switch piece.type {
            case .unknown: types[id] = .unknown
            case .control: types[id] = .control
            case .unused: types[id] = .unused
            case .byte: types[id] = .byte
            case .normal, .userDefined: types[id] = .normal
            }
        }
        for (text, value) in files.addedTokens?.entries ?? [] {
            guard let id = value.int, value.number == Double(id) else {
                throw TokenizerError(.invalidValue, "expected an integer id for \"\(text)\", found \(value)", field: "added_tokens.json")
            }
            guard id >= 0, id < count else { continue }  // the converter skips ids past vocab_size
            tokens[id] = text
            scores[id] = -1000
            types[id] = .userDefined
        }
        for (key, entry) in files.tokenizerConfig?["added_tokens_decoder"]?.object?.entries ?? [] {
            guard let id = Int(key), let content = entry.object?["content"]?.string else {
                throw TokenizerError(.invalidValue, "expected an integer key and a content string, found \"\(key)\"", field: "tokenizer_config.json added_tokens_decoder")
            }
            guard id >= 0, id < count else { continue }
            if entry.object?["special"]?.bool == true || looksSpecial(content) {
                tokens[id] = content
                types[id] = .control
            } else {
                tokens[id] = String(String.UnicodeScalarView(content.unicodeScalars.map { $0 == "\u{2581}" ? " " : $0 }))
                types[id] = .userDefined
            }
            scores[id] = -1000
        }
        var meta = Metadata()
        meta["tokenizer.ggml.model"] = .string("llama")
        meta["tokenizer.ggml.pre"] = .string("default")
        meta["tokenizer.ggml.tokens"] = .array(tokens.map { .string($0) })
        meta["tokenizer.ggml.scores"] = .array(scores.map { .float(Double($0)) })
        meta["tokenizer.ggml.token_type"] = .array(types.map { .int($0.rawValue) })
        if let prefix = files.tokenizerConfig?["add_prefix_space"]?.bool { meta["tokenizer.ggml.add_space_prefix"] = .bool(prefix) }
        let special = try SpecialVocabulary(
            tokenizerJSON: files.tokenizerJSON, tokenizerConfig: files.tokenizerConfig, config: config,
            chatTemplateJinja: files.chatTemplateJinja, chatTemplateJSON: files.chatTemplateJSON, vocabularySize: count)
        for (k, v) in special.metadata.entries { meta[k] = v }
        return meta
    }

    /// The converter's `does_token_look_special`: added tokens some models forget to mark special.
    static func looksSpecial(_ text: String) -> Bool {
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(text)
            || (text.hasPrefix("<|") && text.hasSuffix("|>"))
            || (text.hasPrefix("<\u{FF5C}") && text.hasSuffix("\u{FF5C}>"))
            || (text.hasPrefix("<unused") && text.hasSuffix(">"))
    }
}
