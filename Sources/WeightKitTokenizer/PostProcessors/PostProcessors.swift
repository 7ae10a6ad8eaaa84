import WeightKitCore

/// The fourth pipeline stage: adds special tokens around an encoded sequence.
protocol PostProcessor: Sendable {
    /// `ids` with the special tokens of a single-sequence template added.
    func process(_ ids: [Int]) -> [Int]
    /// Two sequences joined by the pair template, with each id's type id; nil when this stage
    /// adds nothing to pairs (tokenizers then concatenates A and B, B with type id 1).
    func processPair(_ a: [Int], _ b: [Int]) throws(TokenizerError) -> (ids: [Int], typeIds: [Int])?
}

/// Builds the post-processor a tokenizer.json `post_processor` object describes (nil for null).
func makePostProcessor(_ value: JSONValue?, path: String) throws(TokenizerError) -> (any PostProcessor)? {
    guard let f = try JSONFields(stage: value, path: path) else { return nil }
    switch try f.type() {
    case "Sequence": return SequencePostProcessor(stages: try f.stages("processors", makePostProcessor))
    case "ByteLevel":
        return nil  // only trims offsets; ids are unchanged
    case "TemplateProcessing": return try TemplatePostProcessor(f)
    case "BertProcessing":
        let cls = try specialPair(f, "cls"), sep = try specialPair(f, "sep")
        // [CLS] A [SEP] B [SEP]: type 0 up to the first [SEP], 1 after.
        return TemplatePostProcessor(prefix: [cls], suffix: [sep], pair: [
            .special([cls], 0), .sequence(second: false, 0), .special([sep], 0), .sequence(second: true, 1), .special([sep], 1),
        ])
    case "RobertaProcessing":
        let cls = try specialPair(f, "cls"), sep = try specialPair(f, "sep")
        // <s> A </s></s> B </s>: tokenizers gives RoBERTa's pairs type id 0 throughout.
        return TemplatePostProcessor(prefix: [cls], suffix: [sep], pair: [
            .special([cls], 0), .sequence(second: false, 0), .special([sep, sep], 0), .sequence(second: true, 0), .special([sep], 0),
        ])
    case let type:
        throw .unsupportedType("post-processor", type, field: f.field("type"))
    }
}

/// `["[SEP]", 102]` → 102.
private func specialPair(_ f: JSONFields, _ key: String) throws(TokenizerError) -> Int {
    let items = try f.array(key)
    guard items.count == 2, items[0].string != nil, let id = items[1].int else {
        throw TokenizerError(.invalidValue, "expected [\"token\", id]", field: f.field(key))
    }
    return id
}

/// Applies several post-processors in order.
struct SequencePostProcessor: PostProcessor {
    let stages: [any PostProcessor]
    func process(_ ids: [Int]) -> [Int] { stages.reduce(ids) { $1.process($0) } }

    func processPair(_ a: [Int], _ b: [Int]) throws(TokenizerError) -> (ids: [Int], typeIds: [Int])? {
        // Only one stage may join the pair (a template after ByteLevel, as Llama 3 files have).
        var joined: (ids: [Int], typeIds: [Int])?
        for stage in stages {
            guard let result = try stage.processPair(a, b) else { continue }
            guard joined == nil else {
                throw TokenizerError(.unsupported, "a Sequence post-processor with more than one stage joining pairs", field: "post_processor")
            }
            joined = result
        }
        return joined
    }
}

/// `TemplateProcessing`: the single-sequence template reduced to the ids before and after `$A`,
/// and the pair template item by item.
struct TemplatePostProcessor: PostProcessor {
    /// One item of a pair template: special ids or a sequence, with its type id.
    enum Item: Sendable, Equatable {
        case special([Int], Int)
        case sequence(second: Bool, Int)
    }

    let prefix: [Int]
    let suffix: [Int]
    /// The pair template (nil when the file has none: pairs are then refused).
    let pair: [Item]?

    init(prefix: [Int], suffix: [Int], pair: [Item]? = nil) {
        self.prefix = prefix
        self.suffix = suffix
        self.pair = pair
    }

    init(_ f: JSONFields) throws(TokenizerError) {
        var specials: [String: [Int]] = [:]
        if let table = f.value("special_tokens")?.object {
            for (name, entry) in table.entries {
                let e = try JSONFields(entry, path: f.field("special_tokens.\(name)"))
                specials[name] = try e.array("ids").map { v throws(TokenizerError) -> Int in
                    guard let id = v.int else { throw .wrongType(e.field("ids"), expected: "integers", found: v.typeName) }
                    return id
                }
            }
        }
        var before: [Int] = [], after: [Int] = []
        var seenSequence = false
        for (i, item) in try f.array("single").enumerated() {
            let field = f.field("single[\(i)]")
            let piece = try JSONFields(item, path: field)
            if let special = piece.value("SpecialToken") {
                let name = try JSONFields(special, path: field + ".SpecialToken").string("id")
                guard let ids = specials[name] else {
                    throw TokenizerError(.invalidValue, "special token \"\(name)\" is not in special_tokens", field: field)
                }
                if seenSequence { after += ids } else { before += ids }
            } else if piece.value("Sequence") != nil {
                seenSequence = true
            } else {
                throw TokenizerError(.invalidValue, "expected SpecialToken or Sequence", field: field)
            }
        }
        prefix = before
        suffix = after
        if let items = f.value("pair")?.array, !items.isEmpty {
            var pair: [Item] = []
            for (i, item) in items.enumerated() {
                let field = f.field("pair[\(i)]")
                let piece = try JSONFields(item, path: field)
                if let special = piece.value("SpecialToken") {
                    let s = try JSONFields(special, path: field + ".SpecialToken")
                    let name = try s.string("id")
                    guard let ids = specials[name] else {
                        throw TokenizerError(.invalidValue, "special token \"\(name)\" is not in special_tokens", field: field)
                    }
                    pair.append(.special(ids, try s.int("type_id", default: 0)))
                } else if let sequence = piece.value("Sequence") {
                    let s = try JSONFields(sequence, path: field + ".Sequence")
                    let id = try s.string("id")
                    guard id == "A" || id == "B" else {
                        throw TokenizerError(.invalidValue, "expected sequence A or B, found \"\(id)\"", field: field)
                    }
                    pair.append(.sequence(second: id == "B", try s.int("type_id", default: 0)))
                } else {
                    throw TokenizerError(.invalidValue, "expected SpecialToken or Sequence", field: field)
                }
            }
            self.pair = pair
        } else {
            pair = nil
        }
    }

    func process(_ ids: [Int]) -> [Int] { prefix + ids + suffix }

    func processPair(_ a: [Int], _ b: [Int]) throws(TokenizerError) -> (ids: [Int], typeIds: [Int])? {
        guard let pair else {
            throw TokenizerError(.unsupported, "the TemplateProcessing post-processor has no pair template", field: "post_processor.pair")
        }
        var ids: [Int] = [], types: [Int] = []
        for item in pair {
            switch item {
            case .special(let s, let type): ids += s; types += [Int](repeating: type, count: s.count)
            case .sequence(let second, let type):
                let part = second ? b : a
                ids += part; types += [Int](repeating: type, count: part.count)
            }
        }
        return (ids, types)
    }

    /// Special ids the pair template adds.
    var pairAdded: Int {
        (pair ?? []).reduce(0) { if case .special(let s, _) = $1 { $0 + s.count } else { $0 } }
    }
}
