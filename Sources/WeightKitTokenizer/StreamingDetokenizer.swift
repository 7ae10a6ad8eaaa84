/// Turns ids into text one id at a time, emitting only complete UTF-8 characters, so a generator
/// can print tokens as they come (the algorithm of `tokenizers`' `DecodeStream`).
///
/// Each step decodes a small window (the ids already printed, as context, plus the new ones) and
/// prints what the new ids added. The context matters: SentencePiece's decoder drops the
/// leading space of the first token, and a byte-level token may end in the middle of a UTF-8
/// sequence (decoded as U+FFFD) until the next token completes it.
public struct StreamingDetokenizer: Sendable {
    private let tokenizer: any Tokenizer
    private let skipSpecialTokens: Bool
    /// Context ids (already printed) followed by ids not printed yet.
    private var window: [Int] = []
    /// How many ids at the start of `window` have been printed.
    private var printedCount = 0
    /// The decoded text of `window[..<printedCount]`.
    private var printedText = ""

    /// A detokenizer for `tokenizer`; special tokens are left out unless `skipSpecialTokens` is false.
    public init(tokenizer: any Tokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one id; returns the text it completes (often empty while a character is incomplete).
    public mutating func append(_ id: Int) -> String {
        window.append(id)
        let text = tokenizer.decode(window, skipSpecialTokens: skipSpecialTokens)
        guard text.utf8.count > printedText.utf8.count, text.unicodeScalars.last != "\u{FFFD}",
            text.utf8.starts(with: printedText.utf8)
        else { return "" }
        let fresh = String(decoding: text.utf8.dropFirst(printedText.utf8.count), as: UTF8.self)
        // The ids just printed become the context for the next ones.
        window.removeFirst(printedCount)
        printedCount = window.count
        printedText = tokenizer.decode(window, skipSpecialTokens: skipSpecialTokens)
        return fresh
    }

    /// Whatever is still held back (an incomplete character at the end becomes U+FFFD).
    public mutating func finish() -> String {
        let text = tokenizer.decode(window, skipSpecialTokens: skipSpecialTokens)
        defer {
            window.removeAll()
            printedCount = 0
            printedText = ""
        }
        guard text.utf8.count > printedText.utf8.count, text.utf8.starts(with: printedText.utf8) else { return "" }
        return String(decoding: text.utf8.dropFirst(printedText.utf8.count), as: UTF8.self)
    }
}
