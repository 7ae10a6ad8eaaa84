import WeightKitCore

/// The fourth pipeline stage: adds special tokens around an encoded sequence.
protocol PostProcessor: Sendable {
    /// `ids` with the special tokens of a single-sequence template added.
    func process(_ ids: [Int]) -> [Int]
}

/// Builds the post-processor a tokenizer.json `post_processor` object describes (nil for null).
func makePostProcessor(_ value: JSONValue?, path: String) throws(TokenizerError) -> (any PostProcessor)? {
    guard let f = try JSONFields(stage: value, path: path) else { return nil }
    switch try f.type() {
    case "Sequence": return SequencePostProcessor(stages: try f.stages("processors", makePostProcessor))
    case "ByteLevel":
        return nil  // only trims offsets; ids are unchanged
    case "TemplateProcessing": return try TemplatePostProcessor(f)
    case "BertProcessing", "RobertaProcessing":
        let cls = try specialPair(f, "cls"), sep = try specialPair(f, "sep")
        return TemplatePostProcessor(prefix: [cls], suffix: [sep])
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
}

/// `TemplateProcessing`'s single-sequence template, reduced to the ids before and after `$A`.
struct TemplatePostProcessor: PostProcessor {
    let prefix: [Int]
    let suffix: [Int]

    init(prefix: [Int], suffix: [Int]) {
        self.prefix = prefix
        self.suffix = suffix
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
    }

    func process(_ ids: [Int]) -> [Int] { prefix + ids + suffix }
}
