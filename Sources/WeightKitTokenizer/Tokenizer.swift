/// Text ↔ token ids, as a model's tokenizer defines them.
///
/// `PipelineTokenizer` implements this for tokenizer.json files (BPE byte-level and
/// SentencePiece-style, WordPiece) and GGUF-embedded tokenizers; ids match Hugging Face
/// `tokenizers` exactly.
public protocol Tokenizer: Sendable {
    /// The ids of `text`; with `addSpecialTokens`, the post-processor's special tokens (BOS,
    /// `[CLS]` … `[SEP]`) are added as the tokenizer defines them.
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int]
    /// The text of `ids`; with `skipSpecialTokens`, special added tokens are left out.
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String
    /// The vocabulary entry (or added token) with this id, as stored (byte-level pieces stay in
    /// GPT-2's alphabet: `Ġthe`).
    func token(for id: Int) -> String?
    /// The id of a vocabulary entry or added token.
    func id(for token: String) -> Int?
    /// One past the largest id.
    var vocabularySize: Int { get }
    /// The beginning-of-sequence id, when known.
    var bosTokenId: Int? { get }
    /// The end-of-sequence id, when known.
    var eosTokenId: Int? { get }
    /// Whether `id` is a special token (dropped by `decode(skipSpecialTokens: true)`).
    func isSpecial(_ id: Int) -> Bool
}

extension Tokenizer {
    /// `encode(text, addSpecialTokens: true)`.
    public func encode(_ text: String) -> [Int] { encode(text, addSpecialTokens: true) }
    /// `decode(ids, skipSpecialTokens: true)`.
    public func decode(_ ids: [Int]) -> String { decode(ids, skipSpecialTokens: true) }
}
