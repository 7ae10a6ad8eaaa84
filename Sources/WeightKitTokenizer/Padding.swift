import WeightKitCore

/// The `padding` a tokenizer.json declares (Hugging Face tokenizers' `PaddingParams`).
public struct Padding: Sendable, Equatable {
    /// `Fixed(n)` pads every encoding to `n`; `BatchLongest` to the longest of a batch (for one
    /// text: its own length).
    public enum Strategy: Sendable, Equatable { case fixed(Int), batchLongest }
    public var strategy: Strategy
    /// Pads on the right (true) or the left.
    public var right: Bool
    /// Rounds the padded length up to a multiple of this, when set.
    public var multipleOf: Int?
    /// The id padding positions get.
    public var id: Int
    /// The type id padding positions get.
    public var typeId: Int = 0

    /// The length one encoding of `count` ids is padded to.
    public func length(for count: Int) -> Int {
        var target = count
        if case .fixed(let n) = strategy { target = max(count, n) }
        if let m = multipleOf, m > 0, target % m != 0 { target += m - target % m }
        return target
    }
}

/// The `truncation` a tokenizer.json declares (`TruncationParams`), for single texts.
public struct Truncation: Sendable, Equatable {
    /// The most ids an encoding keeps, special tokens included.
    public var maxLength: Int
    /// Cuts from the right (true: keeps the first ids) or the left.
    public var right: Bool
    /// Which text of a pair is cut: `longestFirst`, `onlyFirst`, `onlySecond`.
    public enum Strategy: String, Sendable { case longestFirst = "LongestFirst", onlyFirst = "OnlyFirst", onlySecond = "OnlySecond" }
    public var strategy: Strategy = .longestFirst

    /// `ids` cut to `count` from the kept side.
    func cut<T>(_ ids: [T], to count: Int) -> [T] {
        ids.count <= count ? ids : right ? Array(ids.prefix(count)) : Array(ids.suffix(count))
    }
}

/// One text (or pair) encoded as the tokenizer.json declares: ids, type ids (0 for the first
/// text, the template's for a pair), and the attention mask (0 on padding).
public struct Encoding: Sendable, Equatable {
    public var ids: [Int]
    public var typeIds: [Int]
    public var attentionMask: [Int]
    /// Ids cut by truncation (before special tokens were added), in order.
    public var overflowCount: Int
    /// Each id's place in its text (`offsets: true`), as tokenizers' `Encoding.offsets`: scalar
    /// indices into the first text, or the second for a pair's B ids; `(0, 0)` for added
    /// special tokens and padding. Nil when not asked for or not available.
    public var offsets: [TokenOffsets]? = nil
    /// Why `offsets` is nil although asked for: the stage (or text) with no exact alignment here.
    public var offsetsUnavailable: String? = nil
}

extension PipelineTokenizer {
    /// `text` and, when given, `pair` encoded as tokenizers' `encode(text, pair)` with the
    /// tokenizer.json's own `truncation` and `padding` (`encode` applies neither): each text cut
    /// by the declared truncation (for a pair: `LongestFirst` shortens the longer text first, as
    /// tokenizers splits the budget), joined by the post-processor's pair template (B with type
    /// id 1 when there is none), then padded (type id `pad_type_id`).
    ///
    /// - Throws: `TokenizerError` when a pair meets a post-processor without a pair template, or
    ///   an `OnlyFirst`/`OnlySecond` truncation cannot remove enough from its text.
    ///
    /// With `offsets`, each id's offsets too (`encodeWithOffsets`), cut, joined and padded alongside.
    public func encodeAsDeclared(
        _ text: String, pair: String? = nil, addSpecialTokens: Bool = true, truncate: Bool = true, pad: Bool = true, offsets: Bool = false
    ) throws(TokenizerError) -> Encoding {
        var a: [Int], b: [Int]?
        var offsetsA: [TokenOffsets]?, offsetsB: [TokenOffsets]?, unavailable: String?
        if offsets {
            let first = encodeWithOffsets(text)
            (a, offsetsA, unavailable) = (first.ids, first.offsets, first.unavailable)
            if let pair {
                let second = encodeWithOffsets(pair)
                (b, offsetsB) = (second.ids, second.offsets)
                unavailable = unavailable ?? second.unavailable
            }
        } else {
            a = encode(text, addSpecialTokens: false)
            b = pair.map { encode($0, addSpecialTokens: false) }
        }
        var overflow = 0
        if truncate, let truncation {
            var added = 0
            if addSpecialTokens, let postProcessor {
                added = b == nil ? postProcessor.process([]).count : (try postProcessor.processPair([], []))?.ids.count ?? 0
            }
            let budget = max(0, truncation.maxLength - added)
            if var second = b {
                let total = a.count + second.count
                if total > budget {
                    overflow = total - budget
                    switch truncation.strategy {
                    case .longestFirst:
                        // tokenizers: the shorter keeps its length when it fits in half, the longer gets the rest.
                        var n1 = a.count, n2 = second.count
                        let swapped = n1 > n2
                        if swapped { Swift.swap(&n1, &n2) }
                        n2 = n1 > budget ? n1 : max(n1, budget - n1)
                        if n1 + n2 > budget { n1 = budget / 2; n2 = n1 + budget % 2 }
                        if swapped { Swift.swap(&n1, &n2) }
                        a = truncation.cut(a, to: n1)
                        second = truncation.cut(second, to: n2)
                        offsetsA = offsetsA.map { truncation.cut($0, to: n1) }
                        offsetsB = offsetsB.map { truncation.cut($0, to: n2) }
                    case .onlyFirst, .onlySecond:
                        let first = truncation.strategy == .onlyFirst
                        let target = first ? a.count : second.count
                        guard target > overflow else {
                            throw TokenizerError(.invalidValue, "truncation \(truncation.strategy.rawValue) would remove \(overflow) of the \(first ? "first" : "second") text's \(target) ids", field: "truncation.max_length")
                        }
                        if first {
                            a = truncation.cut(a, to: target - overflow)
                            offsetsA = offsetsA.map { truncation.cut($0, to: target - overflow) }
                        } else {
                            second = truncation.cut(second, to: target - overflow)
                            offsetsB = offsetsB.map { truncation.cut($0, to: target - overflow) }
                        }
                    }
                    b = second
                }
            } else if a.count > budget {
                overflow = a.count - budget
                a = truncation.cut(a, to: budget)
                offsetsA = offsetsA.map { truncation.cut($0, to: budget) }
            }
        }
        var joinedOffsets: [TokenOffsets]? = nil
        if offsets, unavailable == nil, let offsetsA {
            let processed = addSpecialTokens ? try postProcessedOffsets(offsetsA, pair == nil ? nil : offsetsB ?? []) : nil
            joinedOffsets = processed ?? offsetsA + (offsetsB ?? [])
        }
        var ids: [Int], types: [Int]
        if let b {
            if addSpecialTokens, let postProcessor, let joined = try postProcessor.processPair(a, b) {
                (ids, types) = joined
            } else {
                ids = a + b
                types = [Int](repeating: 0, count: a.count) + [Int](repeating: 1, count: b.count)
            }
        } else {
            ids = addSpecialTokens ? (postProcessor?.process(a) ?? a) : a
            types = [Int](repeating: 0, count: ids.count)
        }
        var mask = [Int](repeating: 1, count: ids.count)
        if pad, let padding {
            let extra = padding.length(for: ids.count) - ids.count
            if extra > 0 {
                let fill = [Int](repeating: padding.id, count: extra), zeros = [Int](repeating: 0, count: extra)
                let typeFill = [Int](repeating: padding.typeId, count: extra)
                let offsetFill = [TokenOffsets](repeating: .none, count: extra)
                if padding.right {
                    ids += fill; mask += zeros; types += typeFill
                    joinedOffsets = joinedOffsets.map { $0 + offsetFill }
                } else {
                    ids = fill + ids; mask = zeros + mask; types = typeFill + types
                    joinedOffsets = joinedOffsets.map { offsetFill + $0 }
                }
            }
        }
        var encoding = Encoding(ids: ids, typeIds: types, attentionMask: mask, overflowCount: overflow)
        if offsets {
            if let joinedOffsets, joinedOffsets.count == ids.count {
                encoding.offsets = joinedOffsets
            } else {
                encoding.offsetsUnavailable = unavailable ?? "the post-processor's offsets (a defect: please report it)"
            }
        }
        return encoding
    }
}

extension TokenizerJSON {
    /// The `padding` object (nil for null or absent).
    static func padding(_ f: JSONFields) throws(TokenizerError) -> Padding? {
        guard let value = f.value("padding") else { return nil }
        let p = try JSONFields(value, path: "padding")
        let strategy: Padding.Strategy
        switch p.value("strategy") {
        case .string("BatchLongest")?, nil: strategy = .batchLongest
        case .object(let o)? where o.count == 1 && o["Fixed"]?.int != nil:
            let n = o["Fixed"]!.int!
            guard n >= 0, n <= 1 << 24 else { throw TokenizerError(.invalidValue, "expected a length in 0...16777216, found \(n)", field: "padding.strategy.Fixed") }
            strategy = .fixed(n)
        case let other?:
            throw TokenizerError(.unsupported, "unsupported padding strategy \(JSONWriter.serialize(other))", field: "padding.strategy")
        }
        let direction = try p.optionalString("direction") ?? "Right"
        guard direction == "Right" || direction == "Left" else {
            throw TokenizerError(.unsupported, "unsupported padding direction \"\(direction)\"", field: "padding.direction")
        }
        var multiple: Int?
        if let m = p.value("pad_to_multiple_of") {
            guard let n = m.int, n > 0, n <= 1 << 20 else { throw .wrongType("padding.pad_to_multiple_of", expected: "a positive integer", found: m.typeName) }
            multiple = n
        }
        let id = try p.int("pad_id", default: 0)
        guard id >= 0, id < maxVocabularySize else { throw TokenizerError(.invalidValue, "expected an id in 0..<\(maxVocabularySize), found \(id)", field: "padding.pad_id") }
        return Padding(strategy: strategy, right: direction == "Right", multipleOf: multiple, id: id, typeId: try p.int("pad_type_id", default: 0))
    }

    /// The `truncation` object (nil for null or absent). A stride only shapes the overflowing
    /// pieces tokenizers also returns, and the strategy only pairs of texts; neither changes one
    /// text's ids.
    static func truncation(_ f: JSONFields) throws(TokenizerError) -> Truncation? {
        guard let value = f.value("truncation") else { return nil }
        let t = try JSONFields(value, path: "truncation")
        let length = try t.int("max_length", default: 512)
        guard length >= 0 else { throw TokenizerError(.invalidValue, "expected a length ≥ 0, found \(length)", field: "truncation.max_length") }
        let direction = try t.optionalString("direction") ?? "Right"
        guard direction == "Right" || direction == "Left" else {
            throw TokenizerError(.unsupported, "unsupported truncation direction \"\(direction)\"", field: "truncation.direction")
        }
        let strategy = try t.optionalString("strategy") ?? "LongestFirst"
        guard ["LongestFirst", "OnlyFirst", "OnlySecond"].contains(strategy) else {
            throw TokenizerError(.unsupported, "unsupported truncation strategy \"\(strategy)\"", field: "truncation.strategy")
        }
        return Truncation(maxLength: length, right: direction == "Right", strategy: Truncation.Strategy(rawValue: strategy) ?? .longestFirst)
    }
}
