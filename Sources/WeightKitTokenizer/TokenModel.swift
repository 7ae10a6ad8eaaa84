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

    init(json f: JSONFields) throws(TokenizerError) {
        (vocab, tokens) = try readVocabulary(f, key: "vocab")
        let unk = try f.optionalString("unk_token") ?? "[UNK]"
        guard let unkId = vocab[ExactString(unk)] else {
            throw TokenizerError(.invalidValue, "unk_token \"\(unk)\" is not in the vocabulary", field: f.field("unk_token"))
        }
        self.unkId = unkId
        prefix = try f.optionalString("continuing_subword_prefix") ?? "##"
        maxInputCharsPerWord = try f.int("max_input_chars_per_word", default: 100)
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
        var pieces: [Int] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int? = nil
            while start < end {
                var candidate = start > 0 ? prefix : ""
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocab[ExactString(candidate)] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.append(unkId)
                return
            }
            pieces.append(id)
            start = end
        }
        ids.append(contentsOf: pieces)
    }
}
