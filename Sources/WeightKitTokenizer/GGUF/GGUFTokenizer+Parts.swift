import WeightKitCore

extension GGUFTokenizer {
    /// BOS and EOS ids, checked against the vocabulary, and whether the text gets them.
    struct SpecialTokens {
        let bos: Int?
        let eos: Int?
        let addBos: Bool?
        let addEos: Bool?

        init(_ m: GGUFFields, tokenCount: Int) throws(TokenizerError) {
            bos = try m.optionalInt("tokenizer.ggml.bos_token_id")
            eos = try m.optionalInt("tokenizer.ggml.eos_token_id")
            for (key, id) in [("tokenizer.ggml.bos_token_id", bos), ("tokenizer.ggml.eos_token_id", eos)] {
                if let id, id < 0 || id >= tokenCount {
                    throw TokenizerError(.invalidValue, "id \(id) is outside the \(tokenCount)-token vocabulary", field: key)
                }
            }
            addBos = try m.optionalBool("tokenizer.ggml.add_bos_token")
            addEos = try m.optionalBool("tokenizer.ggml.add_eos_token")
        }

        /// A `TemplateProcessing` adding BOS/EOS as `add_bos_token`/`add_eos_token` say (BOS by
        /// default for SentencePiece vocabularies, as llama.cpp does), else `otherwise`.
        func postProcessor(tokens: [String], addBosByDefault: Bool, addEosByDefault: Bool = false, otherwise: JSONValue) -> JSONValue {
            let prefix = (addBos ?? addBosByDefault) ? bos : nil, suffix = (addEos ?? addEosByDefault) ? eos : nil
            guard prefix != nil || suffix != nil else { return otherwise }
            var specials = JSONObject()
            func piece(_ id: Int, typeID: Int) -> JSONValue {
                specials.set(tokens[id], ["id": .string(tokens[id]), "ids": [.integer(id)], "tokens": [.string(tokens[id])]])
                return ["SpecialToken": ["id": .string(tokens[id]), "type_id": .integer(typeID)]]
            }
            func template(_ sequences: [(String, Int)]) -> JSONValue {
                var items: [JSONValue] = []
                for (name, typeID) in sequences {
                    if let prefix { items.append(piece(prefix, typeID: typeID)) }
                    items.append(["Sequence": ["id": .string(name), "type_id": .integer(typeID)]])
                    if let suffix { items.append(piece(suffix, typeID: typeID)) }
                }
                return .array(items)
            }
            let single = template([("A", 0)]), pair = template([("A", 0), ("B", 1)])
            return ["type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": .object(specials)]
        }
    }

    /// Merges rebuilt from SentencePiece scores the way transformers' GGUF converter does: every
    /// split of every token into two vocabulary pieces, ordered by the merged token's score
    /// (highest first), then by the pieces' scores; ties keep vocabulary order.
    static func mergesFromScores(tokens: [String], scores: [Double]) -> [(String, String)] {
        var score: [ExactString: Double] = [:]
        var order: [String] = []
        for (i, t) in tokens.enumerated() {
            if score.updateValue(scores[i], forKey: ExactString(t)) == nil { order.append(t) }
        }
        var merges: [(left: String, right: String, score: Double)] = []
        for token in order {
            let scalars = Array(token.unicodeScalars)
            guard scalars.count > 1, let tokenScore = score[ExactString(token)] else { continue }
            var local: [(left: String, right: String, l: Double, r: Double)] = []
            for cut in 1..<scalars.count {
                let left = String(String.UnicodeScalarView(scalars[..<cut]))
                let right = String(String.UnicodeScalarView(scalars[cut...]))
                if let l = score[ExactString(left)], let r = score[ExactString(right)] { local.append((left, right, l, r)) }
            }
            local.sort { ($0.l, $0.r) > ($1.l, $1.r) }
            for item in local { merges.append((item.left, item.right, tokenScore)) }
        }
        merges.sort { $0.score > $1.score }
        return merges.map { ($0.left, $0.right) }
    }
}
