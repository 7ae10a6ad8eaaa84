extension Trace {
    /// The trace as plain text, one section per stage; attention only for layers with heads.
    public var text: String {
        var out = "trace of \(tokens.count) tokens through \(model) (\(family), \(layerCount) layers × \(headCount) heads)\n"
        out += "\n1. Tokens and embeddings (norm; nearest vocabulary tokens by cosine)\n"
        for (p, t) in tokens.enumerated() {
            let near = t.neighbours.map { "\(Self.quoted($0.piece)) \(Self.fixed($0.score, 2))" }.joined(separator: ", ")
            out += "  [\(p)] \(t.id) \(Self.quoted(t.piece))  norm \(Self.fixed(t.embeddingNorm, 3))  ~ \(near)\n"
        }
        out += "\n2. Attention at the last position (top attended tokens; entropy in bits, last / mean over positions)\n"
        for l in layers where !l.heads.isEmpty {
            out += "  layer \(l.index)\n"
            for h in l.heads {
                let top = h.top.map { "\(Self.quoted(tokens[$0.position].piece))@\($0.position) \(Self.fixed($0.weight, 2))" }.joined(separator: ", ")
                out += "    head \(h.index): H \(Self.fixed(h.entropy, 2)) / \(Self.fixed(h.meanEntropy, 2))  \(top)\n"
            }
        }
        out += "\n3. Residual stream at the last position (norms of attention-added, MLP-added, residual; top MLP neurons)\n"
        for l in layers {
            let neurons = l.topNeurons.map { "\($0.index):\(Self.fixed($0.activation, 2))" }.joined(separator: " ")
            out += "  layer \(Self.pad(l.index)): attn \(Self.fixed(l.attentionNorm, 2))  mlp \(Self.fixed(l.mlpNorm, 2))  resid \(Self.fixed(l.residualNorm, 2))  neurons \(neurons)\n"
        }
        if let embedding, let pooling {
            let head = embedding.prefix(8).map { Self.fixed($0, 4) }.joined(separator: ", ")
            out += "\n4. Sentence embedding (an encoder: \(pooling.pooling.rawValue) pooling\(pooling.normalize ? " + L2 normalisation" : ""), no next token)\n"
            out += "  dim \(embedding.count), norm \(Self.fixed(Embedder.norm(embedding), 4)): [\(head), …]\n"
            return out
        }
        out += "\n4. Next token\n"
        for c in next { out += "  \(Self.fixed(c.score * 100, 2))%  \(c.id) \(Self.quoted(c.piece))\n" }
        let answer = next.first.map { Self.quoted($0.piece) } ?? "?"
        out += "  logit lens (top token after each layer; probability and rank of \(answer)):\n"
        for l in layers {
            let top = l.lens.first.map { "\(Self.quoted($0.piece)) \(Self.fixed($0.score * 100, 1))%" } ?? ""
            out += "    layer \(Self.pad(l.index)): \(top)   \(answer) \(Self.fixed(l.finalTokenProbability * 100, 2))% rank \(l.finalTokenRank)\n"
        }
        if let e = emergenceLayer { out += "  \(answer) is the lens's top-1 from layer \(e) on (first at layer \(firstTopLayer ?? e))\n" }
        return out
    }

    /// A token piece in quotes with control characters escaped.
    static func quoted(_ piece: String) -> String {
        var s = "\""
        for ch in piece.unicodeScalars {
            switch ch {
            case "\n": s += "\\n"
            case "\t": s += "\\t"
            case "\r": s += "\\r"
            case "\"": s += "\\\""
            case "\\": s += "\\\\"
            default: s += ch.value < 0x20 || ch.value == 0x7f ? "\\u{\(String(ch.value, radix: 16))}" : String(ch)
            }
        }
        return s + "\""
    }

    /// `x` with `digits` decimals.
    static func fixed(_ x: Float, _ digits: Int) -> String {
        guard x.isFinite else { return "\(x)" }
        var scale: Float = 1
        for _ in 0..<digits { scale *= 10 }
        let r = (abs(x) * scale).rounded()
        let whole = Int(r / scale), frac = Int(r) - whole * Int(scale)
        var f = String(frac)
        while f.count < digits { f = "0" + f }
        return (x < 0 && r > 0 ? "-" : "") + "\(whole)" + (digits > 0 ? "." + f : "")
    }

    static func pad(_ i: Int) -> String { i < 10 ? " \(i)" : "\(i)" }
}
