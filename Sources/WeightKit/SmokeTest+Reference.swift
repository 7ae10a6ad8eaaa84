import WeightKitCore
import WeightKitGraph
import WeightKitRuntime
import WeightKitTokenizer

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SmokeTest {
    /// The model against its reference: tokenizers, vocabularies, descriptions, per-position
    /// distributions on the reference's greedy text, where the two part, and the tensors.
    static func compare(_ model: LoadedModel, _ base: LoadedModel, tokenizer: any Tokenizer, options: SmokeOptions, into report: inout SmokeReport) throws {
        let reference = base.tokenizer ?? tokenizer
        if let check = tokenizerCheck(model, base, prompts: options.prompts) { report.checks.append(check) }
        let (vb, vm) = (base.graph.config.vocabSize, model.graph.config.vocabSize)
        guard vb == vm else {
            report.checks.append(.init(name: "vocabulary", passed: false, detail: "\(vm) tokens against the reference's \(vb)"))
            return
        }
        report.descriptionDifferences = descriptionDifferences(base.graph.config, model.graph.config)
        let thresholds = options.thresholds(for: min(report.precision, report.referencePrecision ?? .full))
        report.thresholds = thresholds

        var klSum = 0.0, agree = 0, positions = 0
        var worst: (kl: Double, prompt: String, position: Int) = (0, "", 0)
        var divergence: String?
        for (index, prompt) in options.prompts.enumerated() {
            let ids = reference.encode(prompt, addSpecialTokens: true)
            guard !ids.isEmpty else { continue }
            var run = SmokeReport.PromptRun(prompt: prompt, ids: ids)
            // Every sublayer recorded on the first prompt, for both models over the same text: the
            // reference's greedy run feeds exactly the text the model is then forced through.
            let recorders = index == 0 ? (SublayerRecorder(), SublayerRecorder()) : nil
            let (text, baseLogits): ([Int], [[Float]])
            do {
                (text, baseLogits) = try greedy(base.graph, ids, tokens: options.tokens, options: options.runtime, recorder: recorders?.0)
            } catch let error as RuntimeError where error.kind == .nonFinite {
                throw SmokeError("the reference \(report.reference ?? "") is not finite itself: \(error.message)")
            }
            run.referenceContinuation = reference.decode(text, skipSpecialTokens: false)
            let sequence = ids + text.dropLast()
            let modelLogits: [[Float]]
            do {
                let own = try greedy(model.graph, ids, tokens: options.tokens, options: options.runtime)
                run.continuationIDs = own.0
                run.continuation = tokenizer.decode(own.0, skipSpecialTokens: false)
                run.entropies = own.1.map(ModelComparison.entropy)
                run.topTokens = own.1.map(Sampler.argmax)
                modelLogits = try forced(model.graph, sequence, options: options.runtime, recorder: recorders?.1)
            } catch let error as RuntimeError where error.kind == .nonFinite {
                report.checks.append(.init(name: "finite", passed: false, detail: error.message, location: "prompt \(String(reflecting: prompt))"))
                return
            }
            if let recorders { divergence = recorders.1.firstDivergence(from: recorders.0, above: divergenceLevel) }
            var promptAgree = 0, promptKL = 0.0
            for (p, (a, b)) in zip(baseLogits, modelLogits).enumerated() {
                let kl = ModelComparison.klDivergence(a, b)
                promptKL += kl
                if Sampler.argmax(a) == Sampler.argmax(b) { promptAgree += 1 }
                if kl > worst.kl { worst = (kl, prompt, p) }
            }
            run.top1Agreement = Double(promptAgree) / Double(max(baseLogits.count, 1))
            run.meanKL = promptKL / Double(max(baseLogits.count, 1))
            klSum += promptKL
            agree += promptAgree
            positions += baseLogits.count
            report.prompts.append(run)
        }
        report.checks.append(.init(name: "finite", passed: true, detail: "every layer's output and every logit finite"))
        let top1 = Double(agree) / Double(max(positions, 1)), meanKL = klSum / Double(max(positions, 1))
        report.top1Agreement = top1
        report.meanKL = meanKL
        report.maxKL = worst.kl
        report.firstDivergence = divergence
        report.worstTensors = try worstTensors(report.reference!, report.model, count: options.worstTensors)
        var failures: [String] = []
        if top1 < thresholds.minTop1Agreement { failures.append("top-1 agreement \(format(top1 * 100))% < \(format(thresholds.minTop1Agreement * 100))%") }
        if meanKL > thresholds.maxMeanKL { failures.append("mean KL \(format(meanKL)) > \(format(thresholds.maxMeanKL))") }
        if worst.kl > thresholds.maxKL {
            failures.append("KL \(format(worst.kl)) > \(format(thresholds.maxKL)) at position \(worst.position) of \(String(reflecting: worst.prompt))")
        }
        let summary = "top-1 agreement \(format(top1 * 100))%, mean KL \(format(meanKL)), max KL \(format(worst.kl)) over \(positions) positions"
        if failures.isEmpty {
            report.checks.append(.init(name: "agreement", passed: true, detail: summary))
        } else {
            var location: [String] = []
            if let divergence { location.append("first divergence at \(divergence)") }
            if let tensor = report.worstTensors.first, tensor.relativeError > 0.05 {
                location.append("worst tensor \(tensor.name) (relative error \(format(tensor.relativeError)))")
            } else if !report.worstTensors.isEmpty {
                location.append("every tensor within 5% of the reference's")
            }
            if !report.descriptionDifferences.isEmpty { location.append("description differs: " + report.descriptionDifferences.joined(separator: "; ")) }
            report.checks.append(.init(name: "agreement", passed: false, detail: failures.joined(separator: ", "), location: location.isEmpty ? nil : location.joined(separator: "; ")))
        }
        if let check = tensorsCheck(report.worstTensors, divergence: divergence) { report.checks.append(check) }
    }

    /// Whether both tokenizers encode every prompt alike; nil when either model has none.
    static func tokenizerCheck(_ model: LoadedModel, _ base: LoadedModel, prompts: [String]) -> SmokeReport.Check? {
        guard let own = model.tokenizer, let theirs = base.tokenizer else { return nil }
        let encodings = prompts.lazy.map { ($0, theirs.encode($0, addSpecialTokens: true), own.encode($0, addSpecialTokens: true)) }
        if let (prompt, a, b) = encodings.first(where: { $0.1 != $0.2 }) {
            return .init(
                name: "tokenizer", passed: false,
                detail: "the tokenizers encode \(String(reflecting: prompt)) differently: reference \(a.prefix(12)), model \(b.prefix(12))",
                location: "prompt \(String(reflecting: prompt))")
        }
        return .init(name: "tokenizer", passed: true, detail: "both encode every prompt alike")
    }

    /// The tensors check: the worst tensor within what quantization does; nil when none compared.
    static func tensorsCheck(_ worstTensors: [ModelComparison.TensorDelta], divergence: String?) -> SmokeReport.Check? {
        guard let worstTensor = worstTensors.first else { return nil }
        if worstTensor.shapeMismatch != nil || worstTensor.relativeError > maxTensorError {
            return .init(
                name: "tensors", passed: false,
                detail: "\(worstTensor.name) is \(worstTensor.shapeMismatch.map { "shaped \($0)" } ?? "\(format(worstTensor.relativeError)) (relative RMS) away") from the reference's, more than quantization does (\(format(maxTensorError)))",
                location: divergence.map { "first divergence at \($0)" })
        }
        return .init(name: "tensors", passed: true, detail: "every shared tensor within \(format(worstTensor.relativeError)) of the reference's")
    }

    /// The tensors of the two files by relative error, worst first; none when the names do not map.
    static func worstTensors(_ reference: String, _ model: String, count: Int) throws -> [ModelComparison.TensorDelta] {
        guard count > 0 else { return [] }
        let a = try ModelComparison.normalizedTensors(reference), b = try ModelComparison.normalizedTensors(model)
        let report = try ModelComparison.tensors(a, b)
        return Array(report.deltas.sorted { ($0.shapeMismatch != nil ? .infinity : $0.relativeError) > ($1.shapeMismatch != nil ? .infinity : $1.relativeError) }.prefix(count))
    }

    /// Fields of the two descriptions that differ, beyond how each format stores the same model
    /// (GGUF's interleaved RoPE rows and norms holding Gemma's + 1).
    static func descriptionDifferences(_ a: ArchitectureConfig, _ b: ArchitectureConfig) -> [String] {
        var (a, b) = (a, b)
        b.ropeLayout = a.ropeLayout
        b.normWeightOffset = a.normWeightOffset
        return differences("", a, b)
    }

    /// Leaf fields of two values that differ, named by their path (`rope.theta`), two levels deep.
    static func differences(_ path: String, _ a: Any, _ b: Any, depth: Int = 0) -> [String] {
        func unwrapped(_ x: Any) -> Any {
            let m = Mirror(reflecting: x)
            return m.displayStyle == .optional ? (m.children.first?.value ?? "nil") : x
        }
        let (x, y) = (unwrapped(a), unwrapped(b))
        let (u, v) = (String(describing: x), String(describing: y))
        guard u != v else { return [] }
        let (mx, my) = (Mirror(reflecting: x), Mirror(reflecting: y))
        if depth < 2, mx.displayStyle == .struct, my.displayStyle == .struct, mx.children.count == my.children.count {
            return zip(mx.children, my.children).flatMap { l, r in
                differences(path.isEmpty ? l.label ?? "?" : path + "." + (l.label ?? "?"), l.value, r.value, depth: depth + 1)
            }
        }
        return ["\(path) \(u.prefix(60)) vs \(v.prefix(60))"]
    }
}

/// Records what each sublayer adds to the residual stream, per position, to find where two
/// models part.
final class SublayerRecorder: ForwardObserver {
    /// "embedding", "layer N attention", "layer N MLP" → values of every position, in order.
    private(set) var outputs: [String: [Float]] = [:]
    private(set) var order: [String] = []

    private func add(_ key: String, _ values: [Float]) {
        if outputs[key] == nil { order.append(key) }
        outputs[key, default: []] += values
    }

    func embedded(tokens: [Int], position: Int, residual: [Float]) { add("the embedding", residual) }
    func attention(layer: Int, head: Int, position: Int, weights: [Float]) {}
    func attentionAdded(layer: Int, position: Int, delta: [Float]) { add("layer \(layer) attention", delta) }
    func mlpActivations(layer: Int, position: Int, hidden: [Float]) {}
    func mlpAdded(layer: Int, position: Int, delta: [Float], residual: [Float]) { add("layer \(layer) MLP", delta) }
    func unembedded(position: Int, normed: [Float], logits: [Float]) {}

    /// The first sublayer whose output differs from `reference`'s by more than `level`
    /// (RMS of the difference over RMS of the reference), with that figure.
    func firstDivergence(from reference: SublayerRecorder, above level: Double) -> String? {
        for key in reference.order {
            guard let a = reference.outputs[key], let b = outputs[key], a.count == b.count else { continue }
            var diff = 0.0, norm = 0.0
            for (x, y) in zip(a, b) {
                diff += Double(x - y) * Double(x - y)
                norm += Double(x) * Double(x)
            }
            let relative = norm > 0 ? (diff / norm).squareRoot() : (diff > 0 ? Double.infinity : 0)
            if relative > level { return "\(key) (relative difference \(SmokeTest.format(relative)))" }
        }
        return nil
    }
}
