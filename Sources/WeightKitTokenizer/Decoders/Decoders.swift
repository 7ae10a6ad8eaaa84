import WeightKitCore

/// The last pipeline stage, for ids → text: rewrites the token strings before they are joined.
protocol Decoder: Sendable {
    /// The tokens after this decoder (`decode_chain` in `tokenizers`).
    func decodeChain(_ tokens: [String]) -> [String]
}

/// Builds the decoder a tokenizer.json `decoder` object describes (nil for null).
func makeDecoder(_ value: JSONValue?, path: String) throws(TokenizerError) -> (any Decoder)? {
    guard let f = try JSONFields(stage: value, path: path) else { return nil }
    switch try f.type() {
    case "Sequence": return SequenceDecoder(stages: try f.stages("decoders", makeDecoder))
    case "ByteLevel": return ByteLevelDecoder()
    case "ByteFallback": return ByteFallbackDecoder()
    case "Fuse": return FuseDecoder()
    case "Strip":
        return StripDecoder(
            content: try singleScalar(try f.string("content"), field: f.field("content")),
            start: try f.int("start", default: 0), stop: try f.int("stop", default: 0))
    case "Replace":
        guard case .string(let pattern) = try f.pattern("pattern") else {
            throw TokenizerError(.unsupported, "unsupported Replace decoder with a regex pattern", field: f.field("pattern"))
        }
        return ReplaceDecoder(pattern: pattern, content: try f.string("content"))
    case "Metaspace":
        let pre = try MetaspacePreTokenizer(f)
        return MetaspaceDecoder(replacement: pre.replacement, stripFirst: pre.prependScheme != .never)
    case "WordPiece":
        return WordPieceDecoder(prefix: try f.optionalString("prefix") ?? "##", cleanup: try f.bool("cleanup", default: true))
    case let type:
        throw .unsupportedType("decoder", type, field: f.field("type"))
    }
}

/// Applies several decoders in order.
struct SequenceDecoder: Decoder {
    let stages: [any Decoder]
    func decodeChain(_ tokens: [String]) -> [String] { stages.reduce(tokens) { $1.decodeChain($0) } }
}

/// Maps GPT-2's stand-in characters back to bytes and decodes them as UTF-8 (invalid sequences
/// become U+FFFD). A token with a character outside the alphabet keeps its own UTF-8.
struct ByteLevelDecoder: Decoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var bytes: [UInt8] = []
        for t in tokens { bytes += ByteLevelAlphabet.bytes(of: t) ?? Array(t.utf8) }
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

/// Turns runs of `<0xNN>` tokens into the text their bytes spell (one U+FFFD per byte when
/// the run is not valid UTF-8).
struct ByteFallbackDecoder: Decoder {
    static func byte(of token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        var out: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let text = String(validating: pending, as: UTF8.self) {
                out.append(text)
            } else {
                out += Array(repeating: "\u{FFFD}", count: pending.count)
            }
            pending.removeAll()
        }
        for t in tokens {
            if let b = Self.byte(of: t) {
                pending.append(b)
            } else {
                flush()
                out.append(t)
            }
        }
        flush()
        return out
    }
}

/// Joins all tokens into one.
struct FuseDecoder: Decoder {
    func decodeChain(_ tokens: [String]) -> [String] { [tokens.joined()] }
}

/// Removes up to `start` leading and `stop` trailing `content` characters from each token.
struct StripDecoder: Decoder {
    let content: Unicode.Scalar
    let start: Int
    let stop: Int
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { t in
            let s = Array(t.unicodeScalars)
            var lo = 0, hi = s.count
            while lo < min(start, s.count) && s[lo] == content { lo += 1 }
            var removed = 0
            while removed < stop && hi > lo && s[hi - 1] == content { hi -= 1; removed += 1 }
            return String(String.UnicodeScalarView(s[lo..<hi]))
        }
    }
}

/// Replaces a literal pattern in each token.
struct ReplaceDecoder: Decoder {
    let pattern: String
    let content: String
    func decodeChain(_ tokens: [String]) -> [String] {
        let p = Array(pattern.unicodeScalars), c = Array(content.unicodeScalars)
        return tokens.map { String(String.UnicodeScalarView(replaceAll(Array($0.unicodeScalars), p, with: c))) }
    }
}

/// Metaspace's decoder: `▁` becomes a space, except in the first token, where it is dropped
/// (exactly as `tokenizers` does, which drops every `▁` of the first token).
struct MetaspaceDecoder: Decoder {
    let replacement: Unicode.Scalar
    let stripFirst: Bool
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, t in
            var out = String.UnicodeScalarView()
            for s in t.unicodeScalars {
                if s == replacement {
                    if i == 0 && stripFirst { continue }
                    out.append(" ")
                } else {
                    out.append(s)
                }
            }
            return String(out)
        }
    }
}

/// WordPiece's decoder: `##` pieces join the previous one, others get a space; then BERT's
/// cleanup of spaces before punctuation and contractions, per token.
struct WordPieceDecoder: Decoder {
    let prefix: String
    let cleanup: Bool

    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, t in
            var token = t
            if i != 0 {
                if token.utf8.starts(with: prefix.utf8) {
                    token = String(decoding: token.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
                } else {
                    token = " " + token
                }
            }
            return cleanup ? Self.cleanup(token) : token
        }
    }

    static func cleanup(_ text: String) -> String {
        let rules: [(String, String)] = [
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
            (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"),
        ]
        var s = Array(text.unicodeScalars)
        for (a, b) in rules { s = replaceAll(s, Array(a.unicodeScalars), with: Array(b.unicodeScalars)) }
        return String(String.UnicodeScalarView(s))
    }
}
