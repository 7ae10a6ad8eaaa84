import WeightKitCore

extension BPEModel {
    /// Reads a tokenizer.json `model` object of type BPE; merges may be `"a b"` strings or
    /// `["a", "b"]` pairs.
    init(json f: JSONFields) throws(TokenizerError) {
        let (vocab, tokens) = try readVocabulary(f, key: "vocab")
        if let dropout = f.value("dropout"), let p = dropout.number, p > 0 {
            throw TokenizerError(.unsupported, "unsupported BPE dropout \(p) (encoding would be random)", field: f.field("dropout"))
        }
        let list = f.value("merges") == nil ? [] : try f.array("merges")
        guard list.count <= Self.maxMerges else {
            throw TokenizerError(.limitExceeded, "\(list.count) merges exceed the limit of \(Self.maxMerges)", field: f.field("merges"))
        }
        var merges: [(String, String)] = []
        merges.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            guard let pair = Self.mergePair(item) else {
                throw TokenizerError(.invalidValue, "expected \"a b\" or [\"a\", \"b\"], found \(item.typeName)", field: f.field("merges[\(i)]"))
            }
            merges.append(pair)
        }
        try self.init(
            vocab: vocab, tokens: tokens, merges: merges, unkToken: try f.optionalString("unk_token"),
            fuseUnk: try f.bool("fuse_unk", default: false), byteFallback: try f.bool("byte_fallback", default: false),
            ignoreMerges: try f.bool("ignore_merges", default: false),
            continuingSubwordPrefix: try f.optionalString("continuing_subword_prefix"),
            endOfWordSuffix: try f.optionalString("end_of_word_suffix"), field: f.field("merges"))
    }

    /// A merge in either on-disk form. A "left right" string splits at its first space scalar
    /// (not Character: a space followed by a combining mark is one Character, as in Gemma 4's
    /// "▁ह ै").
    static func mergePair(_ item: JSONValue) -> (String, String)? {
        if let s = item.string {
            let scalars = s.unicodeScalars
            guard let space = scalars.firstIndex(of: " ") else { return nil }
            return (String(scalars[..<space]), String(scalars[scalars.index(after: space)...]))
        }
        if let a = item.array, a.count == 2, let l = a[0].string, let r = a[1].string { return (l, r) }
        return nil
    }
}
