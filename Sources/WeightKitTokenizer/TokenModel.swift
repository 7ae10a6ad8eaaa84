import WeightKitCore

/// The third pipeline stage: turns one pre-tokenized word into vocabulary ids.
protocol TokenModel: Sendable {
    /// Appends the ids of `word` to `ids`.
    func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int])
    /// The id of a vocabulary entry.
    func id(for token: String) -> Int?
    /// The vocabulary entry with this id.
    func token(for id: Int) -> String?
    /// One past the largest id.
    var vocabularySize: Int { get }
}

/// Builds the model a tokenizer.json `model` object describes.
func makeModel(_ value: JSONValue?, path: String) throws(TokenizerError) -> any TokenModel {
    guard let value, value != .null else { throw .missing(path) }
    let f = try JSONFields(value, path: path)
    // Older files omit the model type; BPE is recognised by its merges, WordPiece by its prefix.
    let type = try f.optionalString("type")
        ?? (f.value("merges") != nil ? "BPE" : f.value("continuing_subword_prefix") != nil ? "WordPiece" : "?")
    switch type {
    case "BPE": return try BPEModel(json: f)
    case "WordPiece": return try WordPieceModel(json: f)
    default: throw .unsupportedType("model", type, field: f.field("type"))
    }
}

/// The largest vocabulary accepted: 2^24 entries is 16x the largest real tokenizers (~256k), and
/// keeps id tables (a few bytes per id) in the tens of megabytes.
let maxVocabularySize = 1 << 24

/// Reads a `{token: id}` vocabulary object into a dictionary and an id-indexed token table.
func readVocabulary(_ f: JSONFields, key: String) throws(TokenizerError) -> (ids: [ExactString: Int], tokens: [String]) {
    guard let v = f.value(key) else { throw .missing(f.field(key)) }
    guard let object = v.object else { throw .wrongType(f.field(key), expected: "an object", found: v.typeName) }
    guard object.count <= maxVocabularySize else {
        throw TokenizerError(.limitExceeded, "vocabulary of \(object.count) entries exceeds the limit of \(maxVocabularySize)", field: f.field(key))
    }
    var ids: [ExactString: Int] = [:]
    ids.reserveCapacity(object.count)
    var maxId = -1
    for (token, value) in object.entries {
        guard let id = value.int, id >= 0, id < maxVocabularySize else {
            throw TokenizerError(.invalidValue, "token \"\(token)\" has id \(value), expected an integer in 0..<\(maxVocabularySize)", field: f.field(key))
        }
        ids[ExactString(token)] = id
        maxId = max(maxId, id)
    }
    var tokens = [String](repeating: "", count: maxId + 1)
    for (token, id) in ids { tokens[id] = token.string }
    return (ids, tokens)
}

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
        if let cached = cache.get(word) {
            for id in cached { ids.append(Int(id)) }
            return
        }
        let pieces = split(word)
        cache.put(word, pieces)
        for id in pieces { ids.append(Int(id)) }
    }

    /// The greedy longest-match split, or `[unk]`.
    private func split(_ word: [Unicode.Scalar]) -> [Int32] {
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
        var pieces: [Int32] = []
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
            guard let id = found else { return [Int32(unkId)] }
            pieces.append(Int32(id))
            start = end
        }
        return pieces
    }
}

/// Appends the UTF-8 encoding of `s`.
@inline(__always) func appendUTF8(_ s: Unicode.Scalar, to out: inout [UInt8]) {
    let v = s.value
    if v < 0x80 {
        out.append(UInt8(v))
    } else if v < 0x800 {
        out.append(UInt8(0xC0 | (v >> 6)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else if v < 0x10000 {
        out.append(UInt8(0xE0 | (v >> 12)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (v >> 18)))
        out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    }
}
