import WeightKitCore

/// Tokenizers embedded in GGUF metadata (`tokenizer.ggml.*`), built as the equivalent
/// tokenizer.json pipeline so ids match Hugging Face `tokenizers`.
public enum BPETokenizer {
    /// GGUF token types (llama.cpp `llama_token_type`).
    enum TokenType: Int {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// Builds the tokenizer from GGUF metadata: `tokenizer.ggml.model` `gpt2` (byte-level BPE:
    /// tokens + merges, pre-tokenizer chosen by `tokenizer.ggml.pre`) or `llama` (SentencePiece
    /// BPE: tokens + scores, merges rebuilt from the scores, byte fallback).
    public static func fromGGUFMetadata(_ metadata: Metadata) throws -> PipelineTokenizer {
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
        var vocab: [ExactString: Int] = [:]
        vocab.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where vocab[ExactString(t)] == nil { vocab[ExactString(t)] = i }
        let bos = try m.optionalInt("tokenizer.ggml.bos_token_id")
        let eos = try m.optionalInt("tokenizer.ggml.eos_token_id")
        for (key, id) in [("tokenizer.ggml.bos_token_id", bos), ("tokenizer.ggml.eos_token_id", eos)] {
            if let id, id < 0 || id >= tokens.count {
                throw TokenizerError(.invalidValue, "id \(id) is outside the \(tokens.count)-token vocabulary", field: key)
            }
        }
        let added = addedTokens(tokens: tokens, types: types)
        switch kind {
        case "gpt2":
            return try byteLevel(m, tokens: tokens, vocab: vocab, added: added, bos: bos, eos: eos)
        case "llama":
            return try sentencePiece(m, tokens: tokens, types: types, vocab: vocab, added: added, bos: bos, eos: eos)
        default:
            throw TokenizerError(.unsupported, "unsupported GGUF tokenizer model \"\(kind)\"", field: "tokenizer.ggml.model")
        }
    }

    /// Control and unknown tokens become special added tokens, user-defined ones plain added tokens.
    static func addedTokens(tokens: [String], types: [Int]) -> [AddedToken] {
        var out: [AddedToken] = []
        for (i, raw) in types.enumerated() {
            switch TokenType(rawValue: raw) {
            case .control, .unknown: out.append(AddedToken(id: i, content: tokens[i], special: true, normalized: false))
            case .userDefined: out.append(AddedToken(id: i, content: tokens[i], special: false, normalized: false))
            default: break
            }
        }
        return out
    }

    /// The pre-tokenizer llama.cpp's `tokenizer.ggml.pre` names, as its tokenizer.json has it.
    static func preTokenizer(_ pre: String) throws(TokenizerError) -> (any PreTokenizer, ignoreMerges: Bool) {
        let byteLevel = ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: false)
        switch pre {
        case "default", "gpt2", "gpt-2", "olmo", "jais":
            return (ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true), false)
        case "llama3", "llama-v3", "llama-bpe", "smaug-bpe":
            return (SequencePreTokenizer(stages: [SplitPreTokenizer(pattern: .llama3(maxDigits: 3)), byteLevel]), true)
        case "qwen2", "deepseek-r1-qwen":
            return (SequencePreTokenizer(stages: [SplitPreTokenizer(pattern: .llama3(maxDigits: 1)), byteLevel]), false)
        case "smollm", "starcoder", "refact":
            return (SequencePreTokenizer(stages: [
                DigitsPreTokenizer(individual: true), ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true),
            ]), false)
        default:
            throw TokenizerError(.unsupported, "unsupported GGUF pre-tokenizer \"\(pre)\"", field: "tokenizer.ggml.pre")
        }
    }

    private static func byteLevel(
        _ m: GGUFFields, tokens: [String], vocab: [ExactString: Int], added: [AddedToken], bos: Int?, eos: Int?
    ) throws -> PipelineTokenizer {
        let mergeStrings = try m.strings("tokenizer.ggml.merges")
        var merges: [(String, String)] = []
        merges.reserveCapacity(mergeStrings.count)
        for (i, s) in mergeStrings.enumerated() {
            guard let pair = BPEModel.mergePair(.string(s)) else {
                throw TokenizerError(.invalidValue, "merge \"\(s)\" has no space", field: "tokenizer.ggml.merges[\(i)]")
            }
            merges.append(pair)
        }
        let (pre, ignoreMerges) = try preTokenizer(try m.optionalString("tokenizer.ggml.pre") ?? "default")
        let model = try BPEModel(
            vocab: vocab, tokens: tokens, merges: merges, unkToken: nil, fuseUnk: false, byteFallback: false,
            ignoreMerges: ignoreMerges, field: "tokenizer.ggml.merges")
        return PipelineTokenizer(
            normalizer: nil, preTokenizer: pre, model: model,
            postProcessor: try postProcessor(m, bos: bos, eos: eos, defaultBos: false),
            decoder: ByteLevelDecoder(), addedTokens: added, bosTokenId: bos, eosTokenId: eos)
    }

    private static func sentencePiece(
        _ m: GGUFFields, tokens: [String], types: [Int], vocab: [ExactString: Int], added: [AddedToken], bos: Int?, eos: Int?
    ) throws -> PipelineTokenizer {
        let scores = try m.doubles("tokenizer.ggml.scores")
        guard scores.count == tokens.count else {
            throw TokenizerError(.invalidValue, "\(scores.count) scores for \(tokens.count) tokens", field: "tokenizer.ggml.scores")
        }
        let unkId = try m.optionalInt("tokenizer.ggml.unknown_token_id")
        let unk = unkId.flatMap { $0 >= 0 && $0 < tokens.count ? tokens[$0] : nil }
        let model = try BPEModel(
            vocab: vocab, tokens: tokens, merges: mergesFromScores(tokens: tokens, scores: scores), unkToken: unk,
            fuseUnk: true, byteFallback: true, ignoreMerges: false, field: "tokenizer.ggml.scores")
        let addSpace = try m.optionalBool("tokenizer.ggml.add_space_prefix") ?? true
        let replace = ReplaceNormalizer(pattern: [" "], content: ["▁"])
        let normalizer: any Normalizer = addSpace ? SequenceNormalizer(stages: [PrependNormalizer(prefix: ["▁"]), replace]) : replace
        var decoders: [any Decoder] = [ReplaceDecoder(pattern: "▁", content: " "), ByteFallbackDecoder(), FuseDecoder()]
        if addSpace { decoders.append(StripDecoder(content: " ", start: 1, stop: 0)) }
        return PipelineTokenizer(
            normalizer: normalizer, preTokenizer: nil, model: model,
            postProcessor: try postProcessor(m, bos: bos, eos: eos, defaultBos: true),
            decoder: SequenceDecoder(stages: decoders), addedTokens: added, bosTokenId: bos, eosTokenId: eos)
    }

    /// BOS/EOS added as `tokenizer.ggml.add_bos_token` / `add_eos_token` say.
    private static func postProcessor(_ m: GGUFFields, bos: Int?, eos: Int?, defaultBos: Bool) throws -> (any PostProcessor)? {
        let addBos = try m.optionalBool("tokenizer.ggml.add_bos_token") ?? defaultBos
        let addEos = try m.optionalBool("tokenizer.ggml.add_eos_token") ?? false
        let prefix = addBos ? bos.map { [$0] } ?? [] : [], suffix = addEos ? eos.map { [$0] } ?? [] : []
        return prefix.isEmpty && suffix.isEmpty ? nil : TemplatePostProcessor(prefix: prefix, suffix: suffix)
    }

    /// Merges rebuilt from SentencePiece scores the way transformers' GGUF converter does: every
    /// split of every token into two vocabulary pieces, ordered by the merged token's score
    /// (highest first), then by the pieces' scores; ties keep vocabulary order.
    static func mergesFromScores(tokens: [String], scores: [Double]) -> [(String, String)] {
        var score: [ExactString: Double] = [:]
        var order: [String] = []
        for (i, t) in tokens.enumerated() {
            if score.updateValue(scores[i], forKey: ExactString(t)) == nil { order.append(t) }
        }
        var merges: [(left: String, right: String, score: Double)] = []
        for token in order {
            let scalars = Array(token.unicodeScalars)
            guard scalars.count > 1, let tokenScore = score[ExactString(token)] else { continue }
            var local: [(left: String, right: String, l: Double, r: Double)] = []
            for cut in 1..<scalars.count {
                let left = String(String.UnicodeScalarView(scalars[..<cut]))
                let right = String(String.UnicodeScalarView(scalars[cut...]))
                if let l = score[ExactString(left)], let r = score[ExactString(right)] { local.append((left, right, l, r)) }
            }
            local.sort { ($0.l, $0.r) > ($1.l, $1.r) }
            for item in local { merges.append((item.left, item.right, tokenScore)) }
        }
        merges.sort { $0.score > $1.score }
        return merges.map { ($0.left, $0.right) }
    }
}
