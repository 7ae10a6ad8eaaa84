import WeightKitCore

/// SentencePiece's Unigram model as Hugging Face tokenizers runs it (`models/unigram`): the
/// segmentation of a word with the highest total piece score (Viterbi over every vocabulary
/// piece starting at each character, longer pieces tried after shorter, a later candidate
/// replacing an earlier only when strictly better); a character no piece covers costs the
/// lowest score minus 10 and becomes the unknown piece, consecutive unknowns fused into one; a
/// resulting piece outside the vocabulary becomes its `<0xNN>` byte pieces with `byte_fallback`,
/// else the unknown id.
struct UnigramModel: TokenModel {
    let tokens: [String]
    let scores: [Double]
    let vocab: [ExactString: Int]
    let unkId: Int
    let byteFallback: Bool
    /// The id of `<0x00>`…`<0xFF>`, byte by byte (nil where the vocabulary lacks one).
    private let byteIds: [Int?]
    private let unkScore: Double
    /// Pieces as a scalar trie: node → (children, piece id at this node).
    private let children: [[Unicode.Scalar: Int32]]
    private let terminal: [Int32]
    private let cache = WordCache()

    /// tokenizers' `K_UNK_PENALTY`.
    static let unknownPenalty = 10.0

    init(json f: JSONFields) throws(TokenizerError) {
        let entries = try f.array("vocab")
        guard entries.count <= maxVocabularySize else {
            throw TokenizerError(.limitExceeded, "vocabulary of \(entries.count) entries exceeds the limit of \(maxVocabularySize)", field: f.field("vocab"))
        }
        var tokens: [String] = [], scores: [Double] = [], vocab: [ExactString: Int] = [:]
        tokens.reserveCapacity(entries.count)
        var children: [[Unicode.Scalar: Int32]] = [[:]], terminal: [Int32] = [-1]
        for (i, entry) in entries.enumerated() {
            guard let pair = entry.array, pair.count == 2, let piece = pair[0].string, let score = pair[1].number, score.isFinite else {
                throw TokenizerError(.invalidValue, "expected [piece, finite score], found \(entry.typeName)", field: f.field("vocab[\(i)]"))
            }
            guard !piece.isEmpty else { throw TokenizerError(.invalidValue, "empty piece", field: f.field("vocab[\(i)]")) }
            tokens.append(piece)
            scores.append(score)
            if vocab[ExactString(piece)] == nil { vocab[ExactString(piece)] = i }
            var node = 0
            for s in piece.unicodeScalars {
                if let next = children[node][s] {
                    node = Int(next)
                } else {
                    children[node][s] = Int32(children.count)
                    node = children.count
                    children.append([:])
                    terminal.append(-1)
                }
            }
            if terminal[node] < 0 { terminal[node] = Int32(i) }
        }
        // tokenizers refuses to encode an uncovered character without an unknown id; refused here
        // at load instead, naming the field.
        guard let unk = f.value("unk_id")?.int, unk >= 0, unk < tokens.count else {
            throw TokenizerError(.invalidValue, "expected unk_id, the index of the unknown piece, found \(f.value("unk_id").map { "\($0)" } ?? "none")", field: f.field("unk_id"))
        }
        self.tokens = tokens
        self.scores = scores
        self.vocab = vocab
        self.children = children
        self.terminal = terminal
        unkId = unk
        byteFallback = try f.bool("byte_fallback", default: false)
        unkScore = (scores.min() ?? 0) - Self.unknownPenalty
        byteIds = (0..<256).map { vocab[ExactString(BPEModel.byteToken(UInt8($0)))] }
    }

    var vocabularySize: Int { tokens.count }
    func id(for token: String) -> Int? { vocab[ExactString(token)] }
    func token(for id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }

    func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int]) {
        if word.isEmpty { return }
        cache.append(word, to: &ids, compute: segment)
    }

    func tokenSpans(_ word: [Unicode.Scalar]) -> [(id: Int, span: Range<Int>)]? {
        word.isEmpty ? [] : segmentSpans(word).map { (Int($0.id), $0.span) }
    }

    /// tokenizers' `encode_optimized` then `tokenize`.
    private func segment(_ word: [Unicode.Scalar]) -> [Int32] {
        segmentSpans(word).map(\.id)
    }

    /// The ids of `word` with the scalars each covers (byte-fallback pieces: their whole piece,
    /// as tokenizers gives them).
    func segmentSpans(_ word: [Unicode.Scalar]) -> [(id: Int32, span: Range<Int>)] {
        let n = word.count
        var score = [Double](repeating: 0, count: n + 1)
        var start = [Int](repeating: -1, count: n + 1)
        var best = [Int](repeating: 0, count: n + 1)
        for s in 0..<n {
            let base = score[s]
            var single = false
            var node = 0, end = s
            while end < n, let next = children[node][word[end]] {
                node = Int(next)
                end += 1
                let id = Int(terminal[node])
                guard id >= 0 else { continue }
                let candidate = scores[id] + base
                if start[end] < 0 || candidate > score[end] {
                    score[end] = candidate
                    start[end] = s
                    best[end] = id
                }
                if end == s + 1 { single = true }
            }
            if !single {
                let candidate = unkScore + base
                if start[s + 1] < 0 || candidate > score[s + 1] {
                    score[s + 1] = candidate
                    start[s + 1] = s
                    best[s + 1] = unkId
                }
            }
        }
        // Back from the end: pieces in reverse, runs of unknowns fused.
        var ranges: [Range<Int>] = []
        var end = n, fusedStart: Int? = nil, fusedEnd = 0
        while end > 0 {
            let s = start[end]
            if best[end] == unkId {
                if fusedStart == nil { fusedEnd = end }
                fusedStart = s
            } else {
                if let f = fusedStart { ranges.append(f..<fusedEnd); fusedStart = nil }
                ranges.append(s..<end)
            }
            end = s
        }
        if let f = fusedStart { ranges.append(f..<fusedEnd) }
        var out: [(id: Int32, span: Range<Int>)] = []
        for range in ranges.reversed() {
            let text = String(String.UnicodeScalarView(word[range]))
            if let id = vocab[ExactString(text)] {
                out.append((Int32(id), range))
                continue
            }
            if byteFallback {
                var bytes: [UInt8] = []
                for s in word[range] { appendUTF8(s, to: &bytes) }
                let pieces = bytes.compactMap { byteIds[Int($0)] }
                if pieces.count == bytes.count {  // tokenizers falls back only when every byte has its piece
                    out.append(contentsOf: pieces.map { (Int32($0), range) })
                    continue
                }
            }
            out.append((Int32(unkId), range))
        }
        return out
    }
}

/// A word-to-id table (`models/wordlevel`): each pre-tokenized word is one id, the unknown
/// token's when the vocabulary lacks it.
struct WordLevelModel: TokenModel {
    let vocab: [ExactString: Int]
    let tokens: [String]
    let unkId: Int

    init(json f: JSONFields) throws(TokenizerError) {
        (vocab, tokens) = try readVocabulary(f, key: "vocab")
        let unk = try f.optionalString("unk_token") ?? "<unk>"
        // tokenizers fails at the first word outside the vocabulary when the unknown token is
        // missing too; refused here at load, naming the field.
        guard let unkId = vocab[ExactString(unk)] else {
            throw TokenizerError(.invalidValue, "unk_token \"\(unk)\" is not in the vocabulary", field: f.field("unk_token"))
        }
        self.unkId = unkId
    }

    var vocabularySize: Int { tokens.count }
    func id(for token: String) -> Int? { vocab[ExactString(token)] }
    func token(for id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }

    func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int]) {
        if word.isEmpty { return }
        ids.append(vocab[ExactString(String(String.UnicodeScalarView(word)))] ?? unkId)
    }

    func tokenSpans(_ word: [Unicode.Scalar]) -> [(id: Int, span: Range<Int>)]? {
        var ids: [Int] = []
        tokenize(word, into: &ids)
        return ids.map { ($0, 0..<word.count) }
    }
}
