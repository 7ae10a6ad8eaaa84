import WeightKitCore

/// The one table from llama.cpp's `tokenizer.ggml.pre` names to the tokenizer.json stages the
/// models they name declare, so a GGUF byte-level BPE vocabulary encodes as Hugging Face
/// `tokenizers` encodes the model's own tokenizer.json.
///
/// Each entry is the normalizer, pre-tokenizer and `ignore_merges` of a reference model's
/// tokenizer.json (`openai-community/gpt2`, `meta-llama/Meta-Llama-3-8B`, `Qwen/Qwen2-7B`,
/// `HuggingFaceTB/SmolLM2-135M`); the names sharing an entry are those llama.cpp's
/// `llama-vocab.cpp` splits with the same rule. Reading GGUF and writing it both go through here.
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
        names: ["smollm", "starcoder", "refact"], normalizer: .null,
        preTokenizer: ["type": "Sequence", "pretokenizers": [
            ["type": "Digits", "individual_digits": true], byteLevel(trimOffsets: true, useRegex: true),
        ]],
        ignoreMerges: false)

    /// Every entry, in the order names are looked up.
    static let all: [GGUFPreTokenizer] = [gpt2, llama3, smaug, qwen2, digits]

    /// Llama 3's Split regex, as its tokenizer.json spells it (numbers in runs of up to three).
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Qwen2's Split regex: Llama 3's with one digit at a time.
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The entry for a `tokenizer.ggml.pre` value (absent means `default`, GPT-2's pattern).
    static func named(_ name: String?) throws(TokenizerError) -> GGUFPreTokenizer {
        let name = name ?? "default"
        guard let entry = all.first(where: { $0.names.contains(name) }) else {
            throw TokenizerError(.unsupported, "unsupported GGUF pre-tokenizer \"\(name)\"", field: "tokenizer.ggml.pre")
        }
        return entry
    }

    /// The `tokenizer.ggml.pre` name for a tokenizer.json: the entry whose split (the Split
    /// regex, or Digits first) and `ignore_merges` it has; `default` when none matches.
    static func name(tokenizerJSON json: JSONObject) -> String {
        let model = json["model"]?.object
        let ignoreMerges = model?["ignore_merges"]?.bool ?? false
        let signature = splitSignature(json["pre_tokenizer"])
        let entry = all.first { $0.ignoreMerges == ignoreMerges && splitSignature($0.preTokenizer) == signature }
            ?? all.first { splitSignature($0.preTokenizer) == signature }
        return entry?.names[0] ?? "default"
    }

    /// What decides the split: the first stage's Split regex, `Digits`, or a bare ByteLevel
    /// with its regex.
    private static func splitSignature(_ pre: JSONValue?) -> String? {
        guard let pre = pre?.object else { return nil }
        switch pre["type"]?.string {
        case "Sequence":
            guard let first = pre["pretokenizers"]?.array?.first?.object else { return nil }
            if first["type"]?.string == "Digits" { return "digits" }
            return first["pattern"]?.object?["Regex"]?.string.map { "split:" + $0 }
        case "ByteLevel":
            return pre["use_regex"]?.bool == false ? nil : "bytelevel"
        default:
            return nil
        }
    }

    private static func byteLevel(trimOffsets: Bool, useRegex: Bool) -> JSONValue {
        ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": .bool(trimOffsets), "use_regex": .bool(useRegex)]
    }

    private static func split(_ regex: String, trimOffsets: Bool) -> JSONValue {
        ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": .string(regex)], "behavior": "Isolated", "invert": false],
            byteLevel(trimOffsets: trimOffsets, useRegex: false),
        ]]
    }
}
