import WeightKitCore

/// BERT's WordPiece: greedy longest-match-first, continuation pieces prefixed with `##`, a word
/// longer than `max_input_chars_per_word` or with an unmatchable part becomes `[UNK]`.
struct WordPieceModel: TokenModel {
    let vocab: [ExactString: Int]
    let tokens: [String]
    let unkId: Int
    let prefix: String
    let maxInputCharsPerWord: Int
    /// The longest vocabulary entry, in scalars: no candidate longer than this can match.
    private let maxTokenScalars: Int
    private let cache = WordCache()

    init(json f: JSONFields) throws(TokenizerError) {
        (vocab, tokens) = try readVocabulary(f, key: "vocab")
        let unk = try f.optionalString("unk_token") ?? "[UNK]"
        guard let unkId = vocab[ExactString(unk)] else {
            throw TokenizerError(.invalidValue, "unk_token \"\(unk)\" is not in the vocabulary", field: f.field("unk_token"))
        }
        self.unkId = unkId
        prefix = try f.optionalString("continuing_subword_prefix") ?? "##"
        maxInputCharsPerWord = try f.int("max_input_chars_per_word", default: 100)
        maxTokenScalars = tokens.map { $0.unicodeScalars.count }.max() ?? 0
    }

    var vocabularySize: Int { tokens.count }
    func id(for token: String) -> Int? { vocab[ExactString(token)] }
    func token(for id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }

    func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int]) {
        if word.isEmpty { return }
        if word.count > maxInputCharsPerWord {
            ids.append(unkId)
            return
        }
        cache.append(word, to: &ids, compute: split)
    }

    func tokenSpans(_ word: [Unicode.Scalar]) -> [(id: Int, span: Range<Int>)]? {
        if word.isEmpty { return [] }
        if word.count > maxInputCharsPerWord { return [(unkId, 0..<word.count)] }
        return splitSpans(word).map { (Int($0.id), $0.span) }
    }

    /// The greedy longest-match split, or `[unk]`.
    private func split(_ word: [Unicode.Scalar]) -> [Int32] {
        splitSpans(word).map(\.id)
    }

    /// The split with the scalars each piece covers (`[unk]` covers the whole word).
    private func splitSpans(_ word: [Unicode.Scalar]) -> [(id: Int32, span: Range<Int>)] {
        // UTF-8 of the word once, with the byte offset of every scalar boundary.
        var utf8: [UInt8] = []
        utf8.reserveCapacity(word.count * 2)
        var offsets = [0]
        offsets.reserveCapacity(word.count + 1)
        for s in word {
            appendUTF8(s, to: &utf8)
            offsets.append(utf8.count)
        }
        let prefixBytes = Array(prefix.utf8)
        var candidate: [UInt8] = []
        var pieces: [(id: Int32, span: Range<Int>)] = []
        var start = 0
        while start < word.count {
            var end = min(word.count, start + maxTokenScalars)
            var found: Int? = nil
            while start < end {
                candidate.removeAll(keepingCapacity: true)
                if start > 0 { candidate += prefixBytes }
                candidate += utf8[offsets[start]..<offsets[end]]
                if let id = vocab[ExactString(String(decoding: candidate, as: UTF8.self))] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else { return [(Int32(unkId), 0..<word.count)] }
            pieces.append((Int32(id), start..<end))
            start = end
        }
        return pieces
    }
}
