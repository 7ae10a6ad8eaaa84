import WeightKitCore

/// What `Embedder.run` computed: one embedding per text and, for two or more, their cosine
/// similarities.
public struct EmbeddingReport: Sendable {
    /// One text's embedding.
    public struct Item: Sendable {
        /// The text.
        public var text: String
        /// Tokens read (special tokens included, after truncation).
        public var tokens: Int
        /// Whether the text was cut to the maximum sequence length.
        public var truncated: Bool
        /// The embedding.
        public var embedding: [Float]
    }

    /// The model's path.
    public var model: String
    /// Its family (`bert`).
    public var family: String
    /// Pooling, normalisation and sequence limit used.
    public var settings: EmbeddingSettings
    /// One per text, in order.
    public var items: [Item]
    /// Cosine similarity of every pair ([i][j]); nil for one text.
    public var similarity: [[Float]]?
    /// Seconds to load the model.
    public var loadSeconds: Double
    /// Seconds to tokenize and embed every text.
    public var embedSeconds: Double

    /// Texts per second of embedding.
    public var textsPerSecond: Double { embedSeconds > 0 ? Double(items.count) / embedSeconds : 0 }

    /// The report for a terminal: per text its tokens, norm and first values; the similarity
    /// matrix for up to 16 texts.
    public func text() -> String {
        var lines: [String] = []
        let s = settings
        lines.append("model: \(model) (\(family)); pooling \(s.pooling.rawValue)\(s.normalize ? " + L2 normalisation" : ""), at most \(s.maxSequenceLength.map(String.init) ?? "?") tokens")
        for (i, item) in items.enumerated() {
            let head = item.embedding.prefix(6).map { SmokeTest.format(Double($0)) }.joined(separator: ", ")
            let shown = item.text.count > 60 ? String(item.text.prefix(57)) + "…" : item.text
            lines.append("[\(i)] \(String(reflecting: shown)): \(item.tokens) tokens\(item.truncated ? " (truncated)" : ""), dim \(item.embedding.count), norm \(SmokeTest.format(Double(Embedder.norm(item.embedding))))")
            lines.append("    [\(head), …]")
        }
        if let similarity {
            if similarity.count <= 16 {
                lines.append("cosine similarity:")
                lines.append("     " + similarity.indices.map { pad("[\($0)]", 7) }.joined())
                for (i, row) in similarity.enumerated() {
                    lines.append(pad("[\(i)]", 5) + row.map { pad(Trace.fixed($0, 3), 7) }.joined())
                }
            } else {
                lines.append("cosine similarity: \(similarity.count)×\(similarity.count) (in --json)")
            }
        }
        lines.append("load \(Trace.fixed(Float(loadSeconds), 2)) s; \(items.count) text(s) in \(Trace.fixed(Float(embedSeconds), 3)) s (\(Trace.fixed(Float(textsPerSecond), 1)) texts/s)")
        return lines.joined(separator: "\n")
    }

    /// The report as JSON: settings, every text with all values, the similarity matrix, timings.
    public func json() -> JSONValue {
        var o = JSONObject()
        o.set("model", .string(model))
        o.set("family", .string(family))
        var s = JSONObject()
        s.set("pooling", .string(settings.pooling.rawValue))
        s.set("normalize", .bool(settings.normalize))
        s.set("maxSequenceLength", settings.maxSequenceLength.map { .int(Int64($0)) } ?? .null)
        o.set("settings", .object(s))
        o.set("texts", .array(items.map { item in
            var x = JSONObject()
            x.set("text", .string(item.text))
            x.set("tokens", .int(Int64(item.tokens)))
            x.set("truncated", .bool(item.truncated))
            x.set("norm", .double(Double(Embedder.norm(item.embedding))))
            x.set("embedding", .array(item.embedding.map { .double(Double($0)) }))
            return .object(x)
        }))
        if let similarity { o.set("similarity", .array(similarity.map { .array($0.map { .double(Double($0)) }) })) }
        o.set("loadSeconds", .double(loadSeconds))
        o.set("embedSeconds", .double(embedSeconds))
        o.set("textsPerSecond", .double(textsPerSecond))
        return .object(o)
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : String(repeating: " ", count: width - s.count) + s
    }
}
