import WeightKitCore
import WeightKitGraph
import WeightKitRuntime
import WeightKitTokenizer

extension SmokeTest {
    /// The least cosine an encoder's embeddings must have with its reference's, by the weaker
    /// precision of the two (docs/SMOKE.md; all-MiniLM-L6-v2 on the built-in prompts, measured:
    /// f16 0.9999995, Q8_0 0.99977, Q4_1 0.964, Q4_0 0.953 — 4-bit blocks move a small encoder's
    /// embeddings far more than its next-token choices would).
    public static func minEmbeddingCosine(for precision: SmokePrecision) -> Double {
        switch precision {
        case .full: return 0.99999
        case .half: return 0.9995
        case .eightBit: return 0.995
        case .sixBit: return 0.98
        case .fourBit: return 0.9
        case .lowBits: return 0.8
        }
    }

    /// No reference: an encoder's embeddings must depend on the text (two prompts closer than this
    /// by cosine have, in effect, one embedding).
    public static let maxDistinctCosine = 0.99999

    /// The smoke test of an encoder is its embeddings: finite, different for different texts,
    /// and with a reference (an encoder too) the same tokens and embeddings within the
    /// precision's cosine, the first sublayer where the two part and the tensors.
    static func encoderChecks(_ model: LoadedModel, _ base: LoadedModel?, tokenizer: any Tokenizer, options: SmokeOptions, into report: inout SmokeReport) throws {
        if let base, base.graph.config.causal != model.graph.config.causal {
            let kinds = (model.graph.config.causal ? "a decoder" : "an encoder", base.graph.config.causal ? "a decoder" : "an encoder")
            report.checks.append(.init(name: "agreement", passed: false, detail: "the model is \(kinds.0), the reference \(kinds.1): nothing to compare"))
            return
        }
        let ids = options.prompts.map { tokenizer.encode($0, addSpecialTokens: true) }.map { Array($0.prefix(model.graph.config.contextLength)) }
        let recorders = base == nil ? nil : (SublayerRecorder(), SublayerRecorder())
        let own: [[Float]]
        do {
            own = try embeddings(model, ids, options: options, recorder: recorders?.1)
        } catch let error as RuntimeError where error.kind == .nonFinite {
            report.checks.append(.init(name: "finite", passed: false, detail: error.message))
            return
        }
        report.checks.append(.init(name: "finite", passed: true, detail: "every layer's output finite"))
        for (prompt, (i, e)) in zip(options.prompts, zip(ids, own)) {
            var run = SmokeReport.PromptRun(prompt: prompt, ids: i)
            run.continuation = "embedding [" + e.prefix(4).map { format(Double($0)) }.joined(separator: ", ") + ", …] norm \(format(Double(Embedder.norm(e))))"
            report.prompts.append(run)
        }
        guard let base, let recorders, let referencePath = report.reference else {
            var closest = (cosine: -1.0, a: 0, b: 0)
            for a in own.indices { for b in own.indices where b > a {
                let c = Double(Embedder.cosine(own[a], own[b]))
                if c > closest.cosine { closest = (c, a, b) }
            } }
            if own.count >= 2, closest.cosine > maxDistinctCosine {
                report.checks.append(.init(
                    name: "embeddings", passed: false,
                    detail: "the embedding does not depend on the text: prompts \(closest.a) and \(closest.b) have cosine \(Trace.fixed(Float(closest.cosine), 6))"))
            } else {
                report.checks.append(.init(name: "embeddings", passed: true, detail: "the closest two prompts have cosine \(Trace.fixed(Float(closest.cosine), 6))"))
            }
            return
        }
        if let check = tokenizerCheck(model, base, prompts: options.prompts) { report.checks.append(check) }
        report.descriptionDifferences = descriptionDifferences(base.graph.config, model.graph.config)
        let limit = min(report.precision, report.referencePrecision ?? .full)
        let minimum = options.minEmbeddingCosine ?? minEmbeddingCosine(for: limit)
        report.minEmbeddingCosine = minimum
        let theirs: [[Float]]
        do {
            theirs = try embeddings(base, ids, options: options, recorder: recorders.0)
        } catch let error as RuntimeError where error.kind == .nonFinite {
            throw SmokeError("the reference \(referencePath) is not finite itself: \(error.message)")
        }
        var worst = (cosine: 1.0, prompt: 0)
        for p in report.prompts.indices {
            let c = Double(Embedder.cosine(own[p], theirs[p]))
            report.prompts[p].embeddingCosine = c
            if c < worst.cosine { worst = (c, p) }
        }
        report.firstDivergence = recorders.1.firstDivergence(from: recorders.0, above: divergenceLevel)
        report.worstTensors = try worstTensors(referencePath, report.model, count: options.worstTensors)
        let summary = "least cosine with the reference's embeddings \(Trace.fixed(Float(worst.cosine), 6)) over \(own.count) prompts"
        if worst.cosine >= minimum {
            report.checks.append(.init(name: "agreement", passed: true, detail: summary))
        } else {
            var location = ["prompt \(String(reflecting: options.prompts[worst.prompt]))"]
            if let divergence = report.firstDivergence { location.append("first divergence at \(divergence)") }
            if !report.descriptionDifferences.isEmpty { location.append("description differs: " + report.descriptionDifferences.joined(separator: "; ")) }
            report.checks.append(.init(name: "agreement", passed: false, detail: summary + " < \(minimum)", location: location.joined(separator: "; ")))
        }
        if let check = tensorsCheck(report.worstTensors, divergence: report.firstDivergence) { report.checks.append(check) }
    }

    /// The pooled embeddings of `ids` by `model`, pooled as the model says.
    static func embeddings(_ model: LoadedModel, _ ids: [[Int]], options: SmokeOptions, recorder: SublayerRecorder?) throws -> [[Float]] {
        let settings = try EmbeddingSettings.read(model: model)
        let c = model.graph.config
        let transformer = Transformer(graph: model.graph, options: options.runtime, batch: c.contextLength)
        transformer.observer = recorder
        return try transformer.encode(ids).map { Embedder.pool($0, width: c.hiddenSize, settings: settings) }
    }

}
