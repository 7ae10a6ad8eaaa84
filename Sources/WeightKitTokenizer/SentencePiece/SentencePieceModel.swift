import WeightKitCore

/// A SentencePiece `tokenizer.model` (the `ModelProto` protocol buffer Llama 2, Mistral and
/// TinyLlama ship): its pieces with scores and types, and the trainer and normalizer settings
/// that decide how it is read. Parsed here field by field — no protobuf library, no code run —
/// with every length checked against the bytes left; anything malformed is a
/// `TokenizerError` naming the byte offset.
public struct SentencePieceModel: Sendable, Equatable {
    /// A piece's type (`ModelProto.SentencePiece.Type`); the numbers are llama.cpp's token types.
    public enum PieceType: Int, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// One vocabulary entry.
    public struct Piece: Sendable, Equatable {
        /// The piece text (`▁` for spaces, `<0x0A>` for byte pieces).
        public var text: String
        /// Its score (for BPE models, higher merges first).
        public var score: Float
        /// Its type.
        public var type: PieceType
    }

    /// The training algorithm (`TrainerSpec.ModelType`).
    public enum ModelType: Int, Sendable {
        case unigram = 1, bpe = 2, word = 3, character = 4
    }

    /// The pieces, by id.
    public var pieces: [Piece]
    /// `trainer_spec.model_type` (UNIGRAM when absent, as in the protocol's default).
    public var modelType: ModelType
    /// `trainer_spec.byte_fallback`.
    public var byteFallback: Bool
    /// `normalizer_spec.name` (`identity`, `nmt_nfkc`…), nil when absent.
    public var normalizerName: String?
    /// `normalizer_spec.add_dummy_prefix` (true when absent).
    public var addDummyPrefix: Bool
    /// `normalizer_spec.remove_extra_whitespaces` (true when absent).
    public var removeExtraWhitespaces: Bool

    /// Reads `path`.
    ///
    /// - Throws: `TokenizerError` `.cannotOpen` when the file cannot be read, `.invalidValue`
    ///   (naming the byte offset) for malformed bytes, `.limitExceeded` past the vocabulary cap.
    public init(path: String) throws(TokenizerError) {
        let bytes: [UInt8]
        do {
            let file = try MappedFile(path: path)
            // SAFETY: the buffer is only copied out inside the closure.
            bytes = unsafe file.withUnsafeBytes(in: 0..<file.count) { unsafe Array($0) }
        } catch {
            throw TokenizerError(.cannotOpen, "cannot read the SentencePiece model: \(error)", path: path)
        }
        do { try self.init(bytes: bytes) } catch { throw error.at(path: path) }
    }

    /// Parses the bytes of a `tokenizer.model`.
    public init(bytes: [UInt8]) throws(TokenizerError) {
        pieces = []
        modelType = .unigram
        byteFallback = false
        normalizerName = nil
        addDummyPrefix = true
        removeExtraWhitespaces = true
        var top = ProtoReader(bytes: bytes, range: 0..<bytes.count)
        while let (field, wire) = try top.nextField() {
            switch (field, wire) {
            case (1, 2):
                guard pieces.count < maxVocabularySize else {
                    throw TokenizerError(.limitExceeded, "more than \(maxVocabularySize) pieces", field: "pieces")
                }
                pieces.append(try Self.piece(try top.message(), index: pieces.count))
            case (2, 2):
                var spec = try top.message()
                while let (f, w) = try spec.nextField() {
                    switch (f, w) {
                    case (3, 0):
                        let raw = try spec.varint()
                        guard let type = ModelType(rawValue: Int(truncatingIfNeeded: raw)) else {
                            throw TokenizerError(.unsupported, "unknown model_type \(raw)", field: "trainer_spec.model_type")
                        }
                        modelType = type
                    case (35, 0): byteFallback = try spec.varint() != 0
                    default: try spec.skip(wire: w)
                    }
                }
            case (3, 2):
                var spec = try top.message()
                while let (f, w) = try spec.nextField() {
                    switch (f, w) {
                    case (1, 2): normalizerName = try spec.string("normalizer_spec.name")
                    case (3, 0): addDummyPrefix = try spec.varint() != 0
                    case (4, 0): removeExtraWhitespaces = try spec.varint() != 0
                    default: try spec.skip(wire: w)
                    }
                }
            default:
                try top.skip(wire: wire)
            }
        }
        guard !pieces.isEmpty else {
            throw TokenizerError(.invalidValue, "expected SentencePiece pieces (field 1 of ModelProto), found none: not a tokenizer.model", field: "pieces")
        }
    }

    /// One `SentencePiece` message.
    private static func piece(_ message: ProtoReader, index: Int) throws(TokenizerError) -> Piece {
        var r = message
        var text: String?, score: Float = 0, type = PieceType.normal
        while let (f, w) = try r.nextField() {
            switch (f, w) {
            case (1, 2): text = try r.string("pieces[\(index)].piece")
            case (2, 5): score = Float(bitPattern: try r.fixed32())
            case (3, 0):
                let raw = try r.varint()
                guard let t = PieceType(rawValue: Int(truncatingIfNeeded: raw)) else {
                    throw TokenizerError(.invalidValue, "expected a piece type 1...6, found \(raw)", field: "pieces[\(index)].type")
                }
                type = t
            default: try r.skip(wire: w)
            }
        }
        guard let text else { throw TokenizerError(.missingField, "piece \(index) has no text", field: "pieces[\(index)].piece") }
        return Piece(text: text, score: score, type: type)
    }
}

/// A cursor over protocol-buffer wire format: tags, varints, fixed32 and length-delimited fields,
/// each read checked against the end of its message.
struct ProtoReader {
    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        offset = range.lowerBound
        end = range.upperBound
    }

    private func malformed(_ what: String) -> TokenizerError {
        TokenizerError(.invalidValue, "malformed protocol buffer at byte \(offset): \(what)")
    }

    /// The next field number and wire type, nil at the end of the message.
    mutating func nextField() throws(TokenizerError) -> (Int, Int)? {
        guard offset < end else { return nil }
        let tag = try varint()
        let field = Int(truncatingIfNeeded: tag >> 3), wire = Int(tag & 7)
        guard field > 0, tag >> 3 <= UInt64(Int32.max) else { throw malformed("field number \(tag >> 3)") }
        return (field, wire)
    }

    mutating func varint() throws(TokenizerError) -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            guard offset < end else { throw malformed("varint runs past the end of its message (\(end))") }
            let b = bytes[offset]
            offset += 1
            guard shift < 64 else { throw malformed("varint longer than 10 bytes") }
            value |= UInt64(b & 0x7F) << UInt64(shift)
            if b & 0x80 == 0 { return value }
        }
        throw malformed("varint longer than 10 bytes")
    }

    mutating func fixed32() throws(TokenizerError) -> UInt32 {
        guard end - offset >= 4 else { throw malformed("4-byte field runs past the end of its message (\(end))") }
        let v = UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
        offset += 4
        return v
    }

    /// The byte range of a length-delimited field.
    private mutating func delimited() throws(TokenizerError) -> Range<Int> {
        let length = try varint()
        guard length <= UInt64(end - offset) else {
            throw malformed("a field of \(length) bytes, \(end - offset) left in its message")
        }
        let range = offset..<offset + Int(length)
        offset = range.upperBound
        return range
    }

    /// A nested message.
    mutating func message() throws(TokenizerError) -> ProtoReader {
        ProtoReader(bytes: bytes, range: try delimited())
    }

    /// A UTF-8 string field.
    mutating func string(_ field: String) throws(TokenizerError) -> String {
        let start = offset
        let range = try delimited()
        guard let s = String(validating: bytes[range], as: UTF8.self) else {
            throw TokenizerError(.invalidValue, "expected UTF-8 text at byte \(start), found invalid bytes", field: field)
        }
        return s
    }

    /// Skips a field of wire type `wire`.
    mutating func skip(wire: Int) throws(TokenizerError) {
        switch wire {
        case 0: _ = try varint()
        case 1:
            guard end - offset >= 8 else { throw malformed("8-byte field runs past the end of its message (\(end))") }
            offset += 8
        case 2: _ = try delimited()
        case 5: _ = try fixed32()
        default: throw malformed("wire type \(wire) (groups and unknown types are not SentencePiece)")
        }
    }
}
