import WeightKitCore

/// The ByteLevel post-processor's `trim_offsets` (tokenizers' `process_offsets`): the offsets
/// of a token stop short of its leading and trailing spaces.
struct ByteLevelOffsetTrim: Sendable {
    /// The post-processor's `add_prefix_space`: the first token keeps a single leading space.
    let addPrefixSpace: Bool

    /// The trim of a tokenizer.json `post_processor` (a ByteLevel one with `trim_offsets`, alone
    /// or in a Sequence), or nil.
    static func of(_ value: JSONValue?) -> ByteLevelOffsetTrim? {
        guard let object = value?.object else { return nil }
        switch object["type"]?.string {
        case "ByteLevel":
            guard object["trim_offsets"]?.bool ?? true else { return nil }
            return ByteLevelOffsetTrim(addPrefixSpace: object["add_prefix_space"]?.bool ?? true)
        case "Sequence":
            return object["processors"]?.array?.lazy.compactMap { of($0) }.first
        default:
            return nil
        }
    }

    /// Trims `offsets` (one sequence's, before special tokens are added) by the spaces of `tokens`.
    func apply(_ offsets: inout [TokenOffsets], tokens: [String]) {
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == "Ġ" || c.properties.isWhitespace }
        for i in offsets.indices {
            let scalars = Array(tokens[i].unicodeScalars)
            var leading = scalars.prefix { isSpace($0) }.count
            let trailing = scalars.reversed().prefix { isSpace($0) }.count
            guard leading > 0 || trailing > 0 else { continue }
            var o = offsets[i]
            if leading > 0 {
                let isFirst = i == 0 || o.start == 0
                if isFirst && addPrefixSpace && leading == 1 { leading = 0 }
                o.start = min(o.start + leading, o.end)
            }
            if trailing > 0 && o.end >= trailing { o.end = max(o.end - trailing, o.start) }
            offsets[i] = o
        }
    }
}

extension PipelineTokenizer {
    /// The ids of `text` (no special tokens added) with each token's offsets in `text`, as
    /// tokenizers' `encode(text, add_special_tokens=False).offsets` gives them; offsets nil and a
    /// reason when a stage of this tokenizer (or this text) has no exact alignment here.
    public func encodeWithOffsets(_ text: String) -> (ids: [Int], offsets: [TokenOffsets]?, unavailable: String?) {
        let ids = encode(text, addSpecialTokens: false)
        var found: [Int] = [], offsets: [TokenOffsets] = []
        let scalars = Array(text.unicodeScalars)
        for (range, added) in rawMatcher.split(scalars) {
            if let added {
                found.append(added)
                offsets.append(TokenOffsets(start: range.lowerBound, end: range.upperBound))
                continue
            }
            var aligned = AlignedText(scalars: Array(scalars[range]), origins: range.map { $0..<($0 + 1) }, base: range.lowerBound)
            if let normalizer {
                let expected = normalizer.normalize(aligned.scalars)
                if let why = normalizer.normalizeAligned(&aligned) { return (ids, nil, why) }
                guard aligned.scalars == expected else {
                    return (ids, nil, "the normalizer's aligned path disagrees with its text here (a defect: please report it)")
                }
            }
            let segment = aligned.scalars
            for (inner, innerAdded) in normalizedMatcher.split(segment) {
                if let innerAdded {
                    found.append(innerAdded)
                    offsets.append(Self.span(aligned.origins[inner]))
                    continue
                }
                if inner.isEmpty { continue }
                let piece = Piece(scalars: Array(segment[inner]), startsText: range.lowerBound == 0 && inner.lowerBound == 0,
                                  origins: Array(aligned.origins[inner]))
                var pieces: [Piece] = []
                if let preTokenizer { preTokenizer.split(piece, into: &pieces) } else { pieces = [piece] }
                for p in pieces {
                    guard let origins = p.origins, origins.count == p.scalars.count else {
                        return (ids, nil, "a pre-tokenizer stage without alignments (a defect: please report it)")
                    }
                    guard let spans = model.tokenSpans(p.scalars) else {
                        return (ids, nil, "BPE byte fallback on a piece with a continuing_subword_prefix or end_of_word_suffix (its offsets run past the word)")
                    }
                    for (id, span) in spans {
                        found.append(id)
                        offsets.append(Self.span(origins[span]))
                    }
                }
            }
        }
        guard found == ids else { return (ids, nil, "the offsets path found other ids than the encoder (a defect: please report it)") }
        if let trim = byteLevelTrim { trim.apply(&offsets, tokens: ids.map { token(for: $0) ?? "" }) }
        return (ids, offsets, nil)
    }

    /// The original range of a run of normalized scalars: the first one's start to the last one's end.
    static func span(_ origins: ArraySlice<Range<Int>>) -> TokenOffsets {
        guard let first = origins.first, let last = origins.last else { return .none }
        return TokenOffsets(start: first.lowerBound, end: last.upperBound)
    }

    /// Where each id of a post-processed sequence came from: `a` at its place (and `b`'s, for a
    /// pair), the post-processor's special tokens `(0, 0)`. Found by running the post-processor
    /// on stand-in ids (negative, so none is a real id), which it moves without reading.
    func postProcessedOffsets(_ a: [TokenOffsets], _ b: [TokenOffsets]?) throws(TokenizerError) -> [TokenOffsets]? {
        guard let postProcessor else { return nil }
        let standInA = a.indices.map { -1 - $0 }
        let joined: [Int]
        if let b {
            let standInB = b.indices.map { -1 - a.count - $0 }
            guard let pair = try postProcessor.processPair(standInA, standInB) else { return nil }
            joined = pair.ids
        } else {
            joined = postProcessor.process(standInA)
        }
        return joined.map { id in
            guard id < 0 else { return .none }
            let k = -1 - id
            return k < a.count ? a[k] : b![k - a.count]
        }
    }
}
