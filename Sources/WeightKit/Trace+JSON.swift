import WeightKitCore

extension Trace {
    /// The trace as JSON data: every stage, with the attention matrices of the selected layers.
    public var json: JSONValue { json(weightDecimals: nil) }

    /// The JSON data with attention weights rounded to `weightDecimals` places (the HTML page's
    /// compact copy); nil keeps full precision.
    public func json(weightDecimals: Int?) -> JSONValue {
        let base: JSONValue = [
            "model": .string(model), "family": .string(family),
            "layers": .integer(layerCount), "heads": .integer(headCount),
            "tokens": .array(tokens.map { t in
                ["id": .integer(t.id), "piece": .string(t.piece), "embeddingNorm": Self.number(t.embeddingNorm),
                 "neighbours": Self.candidates(t.neighbours)]
            }),
            "layerTrace": .array(layers.map { Self.layerJSON($0, weightDecimals: weightDecimals) }),
            "next": Self.candidates(next),
            "firstTopLayer": firstTopLayer.map { .integer($0) } ?? .null,
            "emergenceLayer": emergenceLayer.map { .integer($0) } ?? .null,
        ]
        // An encoder's pooled embedding, only for an encoder.
        guard let embedding, let pooling, var o = base.object else { return base }
        o.set("embedding", .array(embedding.map(Self.number)))
        o.set("pooling", .string(pooling.pooling.rawValue + (pooling.normalize ? "+l2" : "")))
        return .object(o)
    }

    static func layerJSON(_ l: Layer, weightDecimals: Int?) -> JSONValue {
        let scale = weightDecimals.map { (0..<$0).reduce(Float(1)) { r, _ in r * 10 } }
        let weight: (Float) -> JSONValue = { w in scale.map { number((w * $0).rounded() / $0) } ?? number(w) }
        return [
            "layer": .integer(l.index), "attentionNorm": number(l.attentionNorm), "mlpNorm": number(l.mlpNorm),
            "residualNorm": number(l.residualNorm),
            "topNeurons": .array(l.topNeurons.map { ["index": .integer($0.index), "activation": number($0.activation)] }),
            "lens": candidates(l.lens),
            "finalTokenProbability": number(l.finalTokenProbability), "finalTokenRank": .integer(l.finalTokenRank),
            "heads": .array(l.heads.map { h in
                ["head": .integer(h.index), "entropy": number(h.entropy), "meanEntropy": number(h.meanEntropy),
                 "top": .array(h.top.map { ["position": .integer($0.position), "weight": number($0.weight)] }),
                 "weights": .array(h.weights.map { .array($0.map(weight)) })]
            }),
        ]
    }

    static func candidates(_ list: [Candidate]) -> JSONValue {
        .array(list.map { ["id": .integer($0.id), "piece": .string($0.piece), "score": number($0.score)] })
    }

    /// A float as its shortest decimal text (0.1, not 0.10000000149011612); NaN → null.
    static func number(_ x: Float) -> JSONValue {
        guard x.isFinite else { return .null }
        return .double(Double("\(x)") ?? Double(x))
    }
}
