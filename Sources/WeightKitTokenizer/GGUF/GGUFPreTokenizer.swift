import WeightKitCore

/// The one table from llama.cpp's `tokenizer.ggml.pre` names to the tokenizer.json stages the
/// models they name declare, so a GGUF byte-level BPE vocabulary encodes as Hugging Face
/// `tokenizers` encodes the model's own tokenizer.json.
///
/// Each entry is the normalizer, pre-tokenizer and `ignore_merges` of a reference model's
/// tokenizer.json (`openai-community/gpt2`, `meta-llama/Meta-Llama-3-8B`, `Qwen/Qwen2-7B`,
/// `HuggingFaceTB/SmolLM2-135M`, `mosaicml/mpt-7b`, `CohereForAI/c4ai-command-r-v01`,
/// `tiiuae/falcon-7b`, `Qwen/Qwen3.5-9B-Instruct`, `deepseek-ai/deepseek-llm-7b-base`,
/// `deepseek-ai/deepseek-coder-6.7b-base`); the names sharing an entry are those llama.cpp's
/// `llama-vocab.cpp` splits with the same rule. Reading GGUF and writing it both go through here.
/// Every entry reproduces the ids of its vocabulary in llama.cpp's tokenizer suite.
struct GGUFPreTokenizer: Sendable {
    /// `tokenizer.ggml.pre` values; the first is the one written to GGUF files.
    let names: [String]
    /// The tokenizer.json `normalizer`.
    let normalizer: JSONValue
    /// The tokenizer.json `pre_tokenizer`.
    let preTokenizer: JSONValue
    /// The BPE model's `ignore_merges`: a word that is itself a token is not split.
    let ignoreMerges: Bool

    /// GPT-2's pattern (inside ByteLevel with `use_regex`).
    static let gpt2 = GGUFPreTokenizer(
        names: ["gpt-2", "default", "gpt2", "olmo", "jais"], normalizer: .null,
        preTokenizer: byteLevel(trimOffsets: true, useRegex: true), ignoreMerges: false)

    /// Llama 3's split, whose tokenizer.json sets `ignore_merges`.
    static let llama3 = GGUFPreTokenizer(
        names: ["llama-bpe", "llama3", "llama-v3"], normalizer: .null,
        preTokenizer: split(llama3Regex, trimOffsets: true), ignoreMerges: true)

    /// Smaug's Llama 3 tokenizer: the same split without `ignore_merges`, which is what gives it
    /// its own name in llama.cpp (its vocabulary hash differs from `llama-bpe`'s only there).
    static let smaug = GGUFPreTokenizer(
        names: ["smaug-bpe"], normalizer: .null, preTokenizer: split(llama3Regex, trimOffsets: true), ignoreMerges: false)

    /// Qwen2's split (digits one by one) after NFC.
    static let qwen2 = GGUFPreTokenizer(
        names: ["qwen2", "deepseek-r1-qwen"], normalizer: ["type": "NFC"],
        preTokenizer: split(qwen2Regex, trimOffsets: false), ignoreMerges: false)

    /// SmolLM and StarCoder: every digit (`\p{N}`, so `½` and `①` too) alone, then GPT-2's pattern.
    static let digits = GGUFPreTokenizer(
        names: ["smollm", "starcoder", "refact"], normalizer: .null, preTokenizer: digitsThenGPT2, ignoreMerges: false)

    /// MPT (GPT-NeoX-20B's tokenizer): NFC, then GPT-2's pattern.
    static let mpt = GGUFPreTokenizer(
        names: ["mpt"], normalizer: ["type": "NFC"], preTokenizer: byteLevel(trimOffsets: true, useRegex: true), ignoreMerges: false)

    /// Command-R: NFC, every digit alone, then GPT-2's pattern.
    static let commandR = GGUFPreTokenizer(
        names: ["command-r"], normalizer: ["type": "NFC"], preTokenizer: digitsThenGPT2, ignoreMerges: false)

    /// Falcon: runs of punctuation together, GPT-2's pattern, runs of digits, then ASCII digits
    /// in threes (a fourth digit on is left over as its own piece).
    static let falcon = GGUFPreTokenizer(
        names: ["falcon"], normalizer: .null,
        preTokenizer: ["type": "Sequence", "pretokenizers": [
            ["type": "Punctuation", "behavior": "Contiguous"], byteLevel(trimOffsets: true, useRegex: true),
            ["type": "Digits", "individual_digits": false], isolated(falconDigitsRegex),
        ]],
        ignoreMerges: false)

    /// Qwen3.5: Qwen2's split with combining marks (`\p{M}`) counted with letters, no NFC.
    static let qwen35 = GGUFPreTokenizer(
        names: ["qwen35"], normalizer: .null, preTokenizer: split(qwen35Regex, trimOffsets: false), ignoreMerges: false)

    /// DeepSeek LLM: line breaks alone, runs of cased letters (with one leading space), of ASCII
    /// and fullwidth punctuation, trailing whitespace, CJK and Hangul, and numbers.
    static let deepseekLLM = GGUFPreTokenizer(
        names: ["deepseek-llm"], normalizer: ["type": "Sequence", "normalizers": []],
        preTokenizer: ["type": "Sequence", "pretokenizers": .array(deepseekLLMRegexes.map(isolated) + [byteLevel(trimOffsets: true, useRegex: false)])],
        ignoreMerges: false)

    /// DeepSeek Coder: line breaks alone, letter runs and punctuation runs (one leading space
    /// each), CJK and Hangul, then every digit alone.
    static let deepseekCoder = GGUFPreTokenizer(
        names: ["deepseek-coder"], normalizer: ["type": "Sequence", "normalizers": []],
        preTokenizer: ["type": "Sequence", "pretokenizers": .array(
            deepseekCoderRegexes.map(isolated)
                + [["type": "Digits", "individual_digits": true], byteLevel(trimOffsets: true, useRegex: false)])],
        ignoreMerges: false)

    /// Every entry, in the order names are looked up.
    static let all: [GGUFPreTokenizer] = [gpt2, llama3, smaug, qwen2, digits, mpt, commandR, falcon, qwen35, deepseekLLM, deepseekCoder]

    /// Llama 3's Split regex, as its tokenizer.json spells it (numbers in runs of up to three).
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Qwen2's Split regex: Llama 3's with one digit at a time.
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Qwen3.5's Split regex: Qwen2's with `[\p{L}\p{M}]` for letters.
    static let qwen35Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Falcon's last Split: three ASCII digits.
    static let falconDigitsRegex = "[0-9][0-9][0-9]"
    /// DeepSeek LLM's Split regexes, in order. The letter class lists the cased-letter ranges
    /// of its tokenizer.json scalar for scalar; range ends that Unicode normalization would change
    /// (U+1F7D, U+1FBE, U+1FD3, U+1FDB, the Ohm and Kelvin signs) are escaped so no editor or
    /// tool can fold them.
    static let deepseekLLMRegexes = [
        "[\r\n]",
        "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u{1F7D}ᾀ-ᾴᾶ-ᾼ\u{1FBE}ῂ-ῄῆ-ῌῐ-\u{1FD3}ῖ-\u{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u{2126}ℨ\u{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
        "\\s?[!-/:-~！-／：-～‘-‟\u{3000}-。]+",
        #"\s+$"#,
        "[一-龥ࠀ-一가-퟿]+",
        #"\p{N}+"#,
    ]
    /// DeepSeek Coder's Split regexes, in order (its digits are a Digits stage).
    static let deepseekCoderRegexes = ["[\r\n]", #"\s?\p{L}+"#, #"\s?\p{P}+"#, "[一-龥ࠀ-一가-퟿]+"]

    /// The entry for a `tokenizer.ggml.pre` value (absent means `default`, GPT-2's pattern).
    static func named(_ name: String?) throws(TokenizerError) -> GGUFPreTokenizer {
        let name = name ?? "default"
        guard let entry = all.first(where: { $0.names.contains(name) }) else {
            throw TokenizerError(.unsupported, "unsupported GGUF pre-tokenizer \"\(name)\"", field: "tokenizer.ggml.pre")
        }
        return entry
    }

    /// The `tokenizer.ggml.pre` name for a tokenizer.json: the entry whose normalizer and split
    /// stages (see `signature`) and `ignore_merges` it has; nil when none matches.
    static func name(tokenizerJSON json: JSONObject) -> String? {
        let model = json["model"]?.object
        let ignoreMerges = model?["ignore_merges"]?.bool ?? false
        let wanted = signature(normalizer: json["normalizer"], preTokenizer: json["pre_tokenizer"])
        let entry = all.first { $0.ignoreMerges == ignoreMerges && $0.signature == wanted }
            ?? all.first { $0.signature == wanted }
        return entry?.names[0]
    }

    /// The stages `name(tokenizerJSON:)` compares, in a line, for an error message.
    static func stages(tokenizerJSON json: JSONObject) -> String {
        let found = signature(normalizer: json["normalizer"], preTokenizer: json["pre_tokenizer"])
        let text = found.isEmpty ? "none" : found.joined(separator: ", ")
        return text.unicodeScalars.count > 600 ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(600))) + "…" : text
    }

    private var signature: [String] { Self.signature(normalizer: normalizer, preTokenizer: preTokenizer) }

    /// What decides how text splits, stage by stage: each normalizer (an empty Sequence is none),
    /// then each pre-tokenizer that splits — Split (regex or string, behavior, invert), Digits as
    /// the Split it equals (`\p{N}` or `\p{N}+`, isolated), Punctuation with its behavior,
    /// ByteLevel when it runs GPT-2's regex. Line breaks in a regex count the same written as
    /// characters or as `\r`/`\n` escapes.
    private static func signature(normalizer: JSONValue?, preTokenizer: JSONValue?) -> [String] {
        var out: [String] = []
        func stages(_ value: JSONValue?, _ key: String) -> [JSONObject] {
            guard let o = value?.object else { return [] }
            if o["type"]?.string == "Sequence" { return (o[key]?.array ?? []).flatMap { stages($0, key) } }
            return [o]
        }
        for n in stages(normalizer, "normalizers") { out.append("normalizer:" + (n["type"]?.string ?? "?")) }
        for p in stages(preTokenizer, "pretokenizers") {
            let type = p["type"]?.string ?? "?"
            switch type {
            case "Split":
                let pattern = p["pattern"]?.object
                let regex = pattern?["Regex"]?.string.map { source in
                    "regex:" + source.unicodeScalars.map { $0 == "\r" ? #"\r"# : $0 == "\n" ? #"\n"# : String($0) }.joined()
                }
                let text = regex ?? pattern?["String"]?.string.map { "string:" + $0 } ?? "?"
                out.append("split:\(text):\(p["behavior"]?.string ?? "?"):\(p["invert"]?.bool ?? false)")
            case "Digits":
                let individual = p["individual_digits"]?.bool ?? false
                out.append("split:regex:" + (individual ? #"\p{N}"# : #"\p{N}+"#) + ":Isolated:false")
            case "Punctuation":
                out.append("punctuation:" + (p["behavior"]?.string ?? "Isolated"))
            case "ByteLevel":
                if p["use_regex"]?.bool ?? true { out.append("bytelevel-regex") }
            default:
                out.append("pre_tokenizer:" + type)
            }
        }
        return out
    }

    private static func byteLevel(trimOffsets: Bool, useRegex: Bool) -> JSONValue {
        ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": .bool(trimOffsets), "use_regex": .bool(useRegex)]
    }

    private static func isolated(_ regex: String) -> JSONValue {
        ["type": "Split", "pattern": ["Regex": .string(regex)], "behavior": "Isolated", "invert": false]
    }

    /// Every digit alone, then GPT-2's pattern (SmolLM, StarCoder, Command-R).
    private static let digitsThenGPT2: JSONValue = ["type": "Sequence", "pretokenizers": [
        ["type": "Digits", "individual_digits": true], byteLevel(trimOffsets: true, useRegex: true),
    ]]

    private static func split(_ regex: String, trimOffsets: Bool) -> JSONValue {
        ["type": "Sequence", "pretokenizers": [
            isolated(regex), byteLevel(trimOffsets: trimOffsets, useRegex: false),
        ]]
    }
}
