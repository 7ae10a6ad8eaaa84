import WeightKitCore

/// The third pipeline stage: turns one pre-tokenized word into vocabulary ids.
protocol TokenModel: Sendable {
    /// Appends the ids of `word` to `ids`.
    func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int])
    /// The ids of `word`, each with the scalars of `word` it covers (for offsets; uncached), or
    /// nil when tokenizers' offsets for this word are not followed here.
    func tokenSpans(_ word: [Unicode.Scalar]) -> [(id: Int, span: Range<Int>)]?
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
    case "Unigram": return try UnigramModel(json: f)
    case "WordLevel": return try WordLevelModel(json: f)
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
