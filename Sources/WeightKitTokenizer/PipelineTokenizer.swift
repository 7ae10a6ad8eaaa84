import WeightKitCore

/// A tokenizer made of `tokenizers`' five stages: normalizer → pre-tokenizer → model →
/// post-processor, and a decoder for the way back; added tokens are matched before the model.
public final class PipelineTokenizer: Tokenizer {
    let normalizer: (any Normalizer)?
    let preTokenizer: (any PreTokenizer)?
    let model: any TokenModel
    let postProcessor: (any PostProcessor)?
    let decoder: (any Decoder)?
    /// Added tokens by id.
    let addedTokens: [Int: AddedToken]
    private let addedByContent: [ExactString: Int]
    /// Id → the string decoding uses (normalized content for normalized added tokens).
    private let addedStrings: [Int: String]
    let rawMatcher: AddedTokenMatcher
    let normalizedMatcher: AddedTokenMatcher
    /// The ByteLevel post-processor's offset trimming, when it has one (ids are unchanged by it).
    let byteLevelTrim: ByteLevelOffsetTrim?
    /// Ids of special added tokens.
    public let specialIds: Set<Int>
    /// The beginning-of-sequence id (tokenizer_config.json or GGUF metadata), when known.
    public let bosTokenId: Int?
    /// The end-of-sequence id, when known.
    public let eosTokenId: Int?
    /// The tokenizer.json's `padding`, applied by `encodeAsDeclared` (never by `encode`).
    public let padding: Padding?
    /// The tokenizer.json's `truncation`, applied by `encodeAsDeclared` (never by `encode`).
    public let truncation: Truncation?

    init(
        normalizer: (any Normalizer)?, preTokenizer: (any PreTokenizer)?, model: any TokenModel,
        postProcessor: (any PostProcessor)?, decoder: (any Decoder)?, addedTokens: [AddedToken],
        bosTokenId: Int? = nil, eosTokenId: Int? = nil, padding: Padding? = nil, truncation: Truncation? = nil,
        byteLevelTrim: ByteLevelOffsetTrim? = nil
    ) {
        self.byteLevelTrim = byteLevelTrim
        self.padding = padding
        self.truncation = truncation
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.postProcessor = postProcessor
        self.decoder = decoder
        var byId: [Int: AddedToken] = [:], byContent: [ExactString: Int] = [:]
        for t in addedTokens {
            byId[t.id] = t
            byContent[ExactString(t.content)] = t.id
        }
        self.addedTokens = byId
        addedByContent = byContent
        rawMatcher = AddedTokenMatcher(addedTokens.filter { !$0.normalized })
        // Normalized added tokens are matched in normalized text, so their content is normalized too.
        // (`tokenizers` also answers id → token with that normalized content.)
        let normalizedTokens = addedTokens.filter { $0.normalized }.map { token in
            var copy = token
            if let normalizer {
                copy.content = String(String.UnicodeScalarView(normalizer.normalize(Array(token.content.unicodeScalars))))
            }
            return copy
        }
        normalizedMatcher = AddedTokenMatcher(normalizedTokens)
        var strings: [Int: String] = [:]
        for t in addedTokens { strings[t.id] = t.content }
        for t in normalizedTokens { strings[t.id] = t.content }
        addedStrings = strings
        specialIds = Set(addedTokens.filter(\.special).map(\.id))
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
    }

    /// The same pipeline with another post-processor and BOS/EOS ids.
    func with(postProcessor: (any PostProcessor)?, bos: Int?, eos: Int?) -> PipelineTokenizer {
        PipelineTokenizer(
            normalizer: normalizer, preTokenizer: preTokenizer, model: model, postProcessor: postProcessor,
            decoder: decoder, addedTokens: Array(addedTokens.values).sorted { $0.id < $1.id },
            bosTokenId: bos, eosTokenId: eos, padding: padding, truncation: truncation, byteLevelTrim: byteLevelTrim)
    }

    /// One past the largest model or added-token id.
    public var vocabularySize: Int { max(model.vocabularySize, (addedTokens.keys.max() ?? -1) + 1) }

    /// The added token or vocabulary entry with this id (normalized content for normalized added tokens).
    public func token(for id: Int) -> String? { addedStrings[id] ?? model.token(for: id) }

    /// The id of an added token or vocabulary entry, compared byte for byte.
    public func id(for token: String) -> Int? { addedByContent[ExactString(token)] ?? model.id(for: token) }

    /// Whether `id` is a special added token.
    public func isSpecial(_ id: Int) -> Bool { specialIds.contains(id) }

    /// The added tokens, by id.
    public var added: [AddedToken] { addedTokens.values.sorted { $0.id < $1.id } }

    /// The ids of `text`: added tokens first, then normalizer, pre-tokenizer and model on the
    /// text between them, then the post-processor when `addSpecialTokens`.
    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        let scalars = Array(text.unicodeScalars)
        for (range, added) in rawMatcher.split(scalars) {
            if let added {
                ids.append(added)
                continue
            }
            var segment = Array(scalars[range])
            if let normalizer { segment = normalizer.normalize(segment) }
            for (inner, innerAdded) in normalizedMatcher.split(segment) {
                if let innerAdded {
                    ids.append(innerAdded)
                    continue
                }
                if inner.isEmpty { continue }
                let startsText = range.lowerBound == 0 && inner.lowerBound == 0
                encodeWords(Piece(scalars: Array(segment[inner]), startsText: startsText), into: &ids)
            }
        }
        if addSpecialTokens, let postProcessor { ids = postProcessor.process(ids) }
        return ids
    }

    /// Pre-tokenizes one stretch of normalized text and runs the model on each word.
    private func encodeWords(_ piece: Piece, into ids: inout [Int]) {
        guard let preTokenizer else {
            model.tokenize(piece.scalars, into: &ids)
            return
        }
        var pieces: [Piece] = []
        preTokenizer.split(piece, into: &pieces)
        for p in pieces { model.tokenize(p.scalars, into: &ids) }
    }

    /// The text of `ids` through the decoder (tokens joined with spaces when there is none).
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        let tokens = ids.compactMap { id -> String? in
            if skipSpecialTokens && specialIds.contains(id) { return nil }
            return token(for: id)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    /// The decoded text of each id alone, for listings (`weightkit tokenize`).
    public func pieces(_ ids: [Int]) -> [String] {
        ids.map { id in
            guard let t = token(for: id) else { return "" }
            guard let decoder else { return t }
            return decoder.decodeChain([t]).joined()
        }
    }
}
