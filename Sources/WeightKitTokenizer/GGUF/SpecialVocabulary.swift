import WeightKitCore

/// The special-token keys llama.cpp's converter writes for a Hugging Face folder, worked out as
/// gguf-py's `SpecialVocab` does: ids from tokenizer.json's `added_tokens` matched by the
/// tokenizer_config's `bos_token`… strings, then from config.json's `*_token_id`; `add_bos` /
/// `add_eos` / `add_sep` from tokenizer.json's post-processor (TemplateProcessing, RobertaProcessing,
/// ByteLevel), then from tokenizer_config's `add_*_token`; the chat template from
/// tokenizer_config, else chat_template.jinja / chat_template.json; lowercase / strip-accents
/// from tokenizer.json's normalizer. An id at or past the vocabulary size is skipped as gguf-py
/// skips it; a negative id is an error (gguf-py stops there too).
struct SpecialVocabulary {
    /// Special token ids by gguf-py type name (`bos`, `eos`, `unk`, `sep`, `pad`, `cls`, `mask`,
    /// `eot`, `eom`).
    private(set) var ids: [String: Int] = [:]
    /// `add_bos` / `add_eos` / `add_sep`… flags by type name.
    private(set) var add: [String: Bool] = [:]
    /// The chat template: a string, or an array of `{name, template}` objects.
    private(set) var chatTemplate: JSONValue?
    /// tokenizer.json's normalizer lowercases / strips accents.
    private(set) var lowercase: Bool?
    private(set) var stripAccents: Bool?
    /// The types looked up, in gguf-py's order (`eot`/`eom` join when the post-processor's last
    /// token is not the configured EOS).
    private var types = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]
    private let vocabularySize: Int?

    /// - Parameters:
    ///   - chatTemplateFiles: the text of chat_template.jinja and the `chat_template` of
    ///     chat_template.json, when the folder has them.
    init(
        tokenizerJSON: JSONObject?, tokenizerConfig: JSONObject?, config: JSONObject?,
        chatTemplateJinja: String? = nil, chatTemplateJSON: JSONValue? = nil, vocabularySize: Int?
    ) throws(TokenizerError) {
        self.vocabularySize = vocabularySize
        try loadTokenizerFiles(tokenizerJSON, tokenizerConfig, chatTemplateJinja, chatTemplateJSON)
        if let config {
            for type in types {
                var id = config["\(type)_token_id"]
                if id == nil || id == .null { id = config["text_config"]?.object?["\(type)_token_id"] }
                try set(type, id, field: "config.json \(type)_token_id")
            }
        }
    }

    /// The `tokenizer.ggml.*` keys gguf-py's writer has handlers for (no `cls` id, no `add_pad`…).
    var metadata: Metadata {
        var meta = Metadata()
        let idKeys = [
            "bos": "bos", "eos": "eos", "unk": "unknown", "sep": "seperator", "pad": "padding",
            "mask": "mask", "eot": "eot", "eom": "eom",
        ]
        for (type, id) in ids.sorted(by: { $0.key < $1.key }) {
            if let key = idKeys[type] { meta["tokenizer.ggml.\(key)_token_id"] = .uint(UInt64(id)) }
        }
        for (type, value) in add.sorted(by: { $0.key < $1.key }) where ["bos", "eos", "sep"].contains(type) {
            meta["tokenizer.ggml.add_\(type)_token"] = .bool(value)
        }
        switch chatTemplate {
        case .string(let s)?: meta["tokenizer.chat_template"] = .string(s)
        case .array(let choices)?:
            var names: [String] = []
            for choice in choices {
                guard let o = choice.object, let template = o["template"]?.string else { continue }
                let name = String((o["name"]?.string ?? "").unicodeScalars.map { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) ? Character($0) : "_" })
                guard !name.isEmpty else { continue }
                if name == "default" {
                    meta["tokenizer.chat_template"] = .string(template)
                } else {
                    names.append(name)
                    meta["tokenizer.chat_template.\(name)"] = .string(template)
                }
            }
            if !names.isEmpty { meta["tokenizer.chat_templates"] = .array(Set(names).sorted().map { .string($0) }) }
        default: break
        }
        if let lowercase { meta["tokenizer.ggml.normalizer.lowercase"] = .bool(lowercase) }
        if let stripAccents { meta["tokenizer.ggml.normalizer.strip_accents"] = .bool(stripAccents) }
        return meta
    }

    /// gguf-py `_set_special_token`: integers only, the first setting wins, ids past the
    /// vocabulary skipped.
    private mutating func set(_ type: String, _ value: JSONValue?, field: String) throws(TokenizerError) {
        guard let value, let id = value.int, value.number == Double(id) else { return }
        guard id >= 0 else { throw TokenizerError(.invalidValue, "expected a token id ≥ 0 for \(type), found \(id)", field: field) }
        if let vocabularySize, id >= vocabularySize { return }
        if ids[type] == nil { ids[type] = id }
    }

    /// Python truthiness of a JSON value (absent, null, "", false, 0, empty array/object: false).
    private static func truthy(_ v: JSONValue?) -> Bool {
        switch v {
        case nil, .null?: return false
        case .string(let s)?: return !s.isEmpty
        case .bool(let b)?: return b
        case .array(let a)?: return !a.isEmpty
        case .object(let o)?: return o.count > 0
        default: return v?.number != 0
        }
    }

    /// The `id` of a template item's SpecialToken, if any.
    private static func specialID(_ item: JSONValue?) -> String? { item?.object?["SpecialToken"]?.object?["id"]?.string }

    /// gguf-py `_try_load_from_tokenizer_json`, which also reads tokenizer_config.json.
    private mutating func loadTokenizerFiles(
        _ tokenizer: JSONObject?, _ tokenizerConfig: JSONObject?, _ jinja: String?, _ templateJSON: JSONValue?
    ) throws(TokenizerError) {
        var tc = tokenizerConfig  // gguf-py edits its copy as it goes
        let hasConfig = tc.map { $0.count > 0 } ?? false
        var added: [JSONValue] = []
        if let tokenizer {
            if let normalizer = tokenizer["normalizer"], Self.truthy(normalizer) { parseNormalizer(normalizer) }
            added = tokenizer["added_tokens"]?.array ?? []
        }
        if let tokenizer, tokenizer.count > 0 {
            var bos = tc?["bos_token"], cls = tc?["cls_token"], eos = tc?["eos_token"], sep = tc?["sep_token"]
            func isOne(_ s: String, _ values: JSONValue?...) -> Bool { values.contains { $0 == .string(s) } }
            if !Self.truthy(bos), Self.truthy(cls), hasConfig { tc?.set("bos_token", cls!); bos = cls }
            if !Self.truthy(eos), Self.truthy(sep), hasConfig { tc?.set("eos_token", sep!); eos = sep }
            let post = tokenizer["post_processor"]
            if Self.truthy(post), let post = post?.object {
                let processors = post["processors"]?.array ?? [.object(post)]
                for processor in processors {
                    guard let p = processor.object else { continue }
                    switch p["type"]?.string {
                    case "ByteLevel":
                        if add["bos"] == nil { add["bos"] = false }
                        if add["eos"] == nil { add["eos"] = false }
                    case "RobertaProcessing":
                        add["bos"] = true; add["eos"] = true; add["sep"] = true
                        if !Self.truthy(cls), hasConfig {
                            cls = p["cls"]?.array?.first ?? bos
                            tc?.set("cls_token", cls ?? .null)
                        }
                        if !Self.truthy(sep), hasConfig {
                            sep = p["sep"]?.array?.first ?? eos
                            tc?.set("sep_token", sep ?? .null)
                        }
                    case "TemplateProcessing":
                        let single = p["single"]?.array ?? [], pair = p["pair"]?.array ?? []
                        var first: String?, last: String?
                        if single.count > 1 {
                            if let f = Self.specialID(single.first), !f.isEmpty {
                                first = f
                                if !hasConfig {
                                    bos = .string(f)
                                } else if !isOne(f, bos, cls) {
                                    if !Self.truthy(bos) { bos = .string(f); tc?.set("bos_token", bos!) }
                                    if !Self.truthy(cls) { cls = .string(f); tc?.set("cls_token", cls!) }
                                }
                                add["bos"] = isOne(f, bos, cls)
                            }
                            if let l = Self.specialID(single.last), !l.isEmpty {
                                last = l
                                if !hasConfig {
                                    eos = .string(l)
                                } else if eos != .string(l) {
                                    if !types.contains("eot") {
                                        types.append("eot"); tc?.set("eot_token", eos ?? .null)
                                    } else if !types.contains("eom") {
                                        types.append("eom"); tc?.set("eom_token", eos ?? .null)
                                    }
                                    eos = .string(l); tc?.set("eos_token", eos!)
                                }
                                add["eos"] = eos == .string(l)
                            }
                        }
                        if !pair.isEmpty {
                            let start = first != nil && Self.specialID(pair.first) == first ? 1 : 0
                            let stop = last != nil && Self.specialID(pair.last) == last ? pair.count - 1 : pair.count
                            let slice = start < stop ? Array(pair[start..<stop]) : []
                            let a = slice.first?.object?["Sequence"]?.object?["id"]?.string
                            let b = slice.last?.object?["Sequence"]?.object?["id"]?.string
                            let middle = slice.count > 2 ? Array(slice[1..<slice.count - 1]) : []
                            if a == "A", b == "B", !middle.isEmpty {
                                var addSep = false
                                if let entry = Self.specialID(middle[0]), !entry.isEmpty, isOne(entry, sep, eos), last == nil {
                                    addSep = true
                                }
                                if middle.count == 2, let entry = Self.specialID(middle[1]), !entry.isEmpty, isOne(entry, sep, eos) {
                                    addSep = true
                                }
                                add["sep"] = addSep
                                if addSep, !Self.truthy(sep), hasConfig { tc?.set("sep_token", eos ?? .null) }
                            }
                        }
                    default: break
                    }
                }
            }
        }
        guard let tc, tc.count > 0 else { return }
        var alternative: JSONValue?
        if let jinja { alternative = .string(jinja) } else if let templateJSON { alternative = templateJSON }
        let template = tc["chat_template"] ?? alternative
        switch template {
        case .string?, .array?: chatTemplate = template
        default: break  // absent or null (gguf-py also ignores other types, with a warning)
        }
        for type in types {
            if let flag = tc["add_\(type)_token"]?.bool, add[type] == nil { add[type] = flag }
            let entry = tc["\(type)_token"]
            guard let content = entry?.string ?? entry?.object?["content"]?.string else { continue }
            let match = added.first { $0.object?["content"]?.string == content }
            try set(type, match?.object?["id"], field: "tokenizer.json added_tokens (\(type)_token \"\(content)\")")
        }
    }

    /// gguf-py `_parse_normalizer`.
    private mutating func parseNormalizer(_ normalizer: JSONValue) {
        guard let n = normalizer.object else { return }
        switch n["type"]?.string {
        case "Lowercase": lowercase = true
        case "StripAccents": stripAccents = true
        case "BertNormalizer":
            if let v = n["lowercase"] { lowercase = v.bool }
            if let v = n["strip_accents"] { stripAccents = v.bool }
        case "Sequence":
            for inner in n["normalizers"]?.array ?? [] { parseNormalizer(inner) }
        default: break
        }
    }
}
