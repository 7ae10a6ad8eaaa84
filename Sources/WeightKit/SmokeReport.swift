import WeightKitCore

/// The outcome of `SmokeTest.run`: checks, per-prompt results, and a one-line verdict.
public struct SmokeReport: Sendable {
    /// One judged property.
    public struct Check: Sendable, Hashable {
        /// "finite", "distribution", "tokenizer", "vocabulary" or "agreement".
        public var name: String
        /// Whether it holds.
        public var passed: Bool
        /// The figures, or what is wrong.
        public var detail: String
        /// Where: a layer, a position, a prompt, a tensor.
        public var location: String?

        /// Creates a check.
        public init(name: String, passed: Bool, detail: String, location: String? = nil) {
            self.name = name
            self.passed = passed
            self.detail = detail
            self.location = location
        }
    }

    /// One prompt through the model (and the reference).
    public struct PromptRun: Sendable {
        /// The prompt text and its ids.
        public var prompt: String
        public var ids: [Int]
        /// The model's greedy continuation.
        public var continuationIDs: [Int] = []
        public var continuation = ""
        /// The reference's greedy continuation, with a reference.
        public var referenceContinuation: String?
        /// Entropy (nats) and top token of the model's distribution at each position.
        public var entropies: [Double] = []
        public var topTokens: [Int] = []
        /// With a reference, on its text: fraction of positions with the same top token, mean KL.
        public var top1Agreement: Double?
        public var meanKL: Double?
        /// An encoder with a reference: the cosine of the two embeddings of the prompt.
        public var embeddingCosine: Double?
    }

    /// The model judged, and its reference if any.
    public var model: String
    public var reference: String?
    /// The weakest matrix precision of each.
    public var precision: SmokePrecision
    public var referencePrecision: SmokePrecision?
    /// The limits applied (with a reference).
    public var thresholds: SmokeThresholds?
    /// An encoder with a reference: the least cosine its embeddings must have with the reference's.
    public var minEmbeddingCosine: Double?
    /// Every check, in the order run.
    public var checks: [Check] = []
    /// Every prompt run.
    public var prompts: [PromptRun] = []
    /// Over all positions of all prompts, with a reference.
    public var top1Agreement: Double?
    public var meanKL: Double?
    public var maxKL: Double?
    /// The first sublayer whose output parts from the reference's (on the first prompt), when one does.
    public var firstDivergence: String?
    /// The tensors furthest from the reference's, worst first (when the names map).
    public var worstTensors: [ModelComparison.TensorDelta] = []
    /// Fields of the two descriptions that differ.
    public var descriptionDifferences: [String] = []
    /// How the run was made, where it departs from the usual (no tokenizer).
    public var notes: [String] = []

    /// Creates an empty report.
    public init(model: String, reference: String? = nil, precision: SmokePrecision) {
        self.model = model
        self.reference = reference
        self.precision = precision
    }

    /// True when every check holds.
    public var passed: Bool { checks.allSatisfy(\.passed) }

    /// The first failed check, if any.
    public var failure: Check? { checks.first { !$0.passed } }

    /// One line: PASS with the figures, or FAIL naming the check, what failed and where.
    public var verdict: String {
        if let failure {
            return "FAIL (\(failure.name)): \(failure.detail)" + (failure.location.map { "; \($0)" } ?? "")
        }
        let judged = checks.first { $0.name == "agreement" } ?? checks.last
        return "PASS: \(prompts.count) prompts" + (judged.map { "; \($0.detail)" } ?? "")
    }

    /// The report for people: the verdict last, after a table of checks and the continuations.
    public func text() -> String {
        var lines: [String] = []
        lines.append("model: \(model) (\(precision))" + (reference.map { "; reference: \($0) (\(referencePrecision?.description ?? "?"))" } ?? ""))
        if let c = minEmbeddingCosine { lines.append("threshold: cosine with the reference's embeddings ≥ \(c)") }
        if let t = thresholds {
            lines.append("thresholds: top-1 agreement ≥ \(SmokeTest.format(t.minTop1Agreement * 100))%, mean KL ≤ \(SmokeTest.format(t.maxMeanKL)), max KL ≤ \(SmokeTest.format(t.maxKL))")
        }
        for note in notes { lines.append("note: " + note) }
        for run in prompts {
            lines.append("")
            lines.append("prompt \(String(reflecting: run.prompt)) (\(run.ids.count) tokens)")
            lines.append("  model:     \(String(reflecting: run.continuation))")
            if let r = run.referenceContinuation { lines.append("  reference: \(String(reflecting: r))") }
            if let a = run.top1Agreement, let kl = run.meanKL {
                lines.append("  top-1 agreement \(SmokeTest.format(a * 100))%, mean KL \(SmokeTest.format(kl))")
            }
            if let c = run.embeddingCosine { lines.append("  cosine with the reference's embedding \(c)") }
        }
        if !worstTensors.isEmpty {
            lines.append("")
            lines.append("tensors furthest from the reference (relative RMS error):")
            for t in worstTensors { lines.append("  " + t.name + "  " + (t.shapeMismatch.map { "shape \($0)" } ?? SmokeTest.format(t.relativeError))) }
        }
        if !descriptionDifferences.isEmpty {
            lines.append("")
            lines.append("description differences: " + descriptionDifferences.joined(separator: "; "))
        }
        lines.append("")
        lines.append("check         result  detail")
        for c in checks {
            let name = c.name + String(repeating: " ", count: max(0, 12 - c.name.count))
            lines.append("\(name)  \(c.passed ? "pass" : "FAIL")    \(c.detail)" + (c.location.map { " [\($0)]" } ?? ""))
        }
        lines.append("")
        lines.append(verdict)
        return lines.joined(separator: "\n")
    }

    /// The report for pipelines (keys in docs/JSON.md).
    public func json() -> JSONValue {
        var o = JSONObject()
        o.set("passed", .bool(passed))
        o.set("verdict", .string(verdict))
        o.set("model", .string(model))
        o.set("precision", .string(precision.description))
        if let reference { o.set("reference", .string(reference)) }
        if let referencePrecision { o.set("referencePrecision", .string(referencePrecision.description)) }
        if let c = minEmbeddingCosine { o.set("minEmbeddingCosine", .double(c)) }
        if let t = thresholds {
            o.set("thresholds", ["minTop1Agreement": .double(t.minTop1Agreement), "maxMeanKL": .double(t.maxMeanKL), "maxKL": .double(t.maxKL)])
        }
        o.set("checks", .array(checks.map { c in
            var x = JSONObject()
            x.set("name", .string(c.name))
            x.set("passed", .bool(c.passed))
            x.set("detail", .string(c.detail))
            if let l = c.location { x.set("location", .string(l)) }
            return .object(x)
        }))
        o.set("prompts", .array(prompts.map { r in
            var x = JSONObject()
            x.set("prompt", .string(r.prompt))
            x.set("ids", .array(r.ids.map { .integer($0) }))
            x.set("continuation", .string(r.continuation))
            x.set("continuationIDs", .array(r.continuationIDs.map { .integer($0) }))
            if let c = r.referenceContinuation { x.set("referenceContinuation", .string(c)) }
            if let a = r.top1Agreement { x.set("top1Agreement", .double(a)) }
            if let k = r.meanKL { x.set("meanKL", .double(k)) }
            if let c = r.embeddingCosine { x.set("embeddingCosine", .double(c)) }
            return .object(x)
        }))
        if let top1Agreement { o.set("top1Agreement", .double(top1Agreement)) }
        if let meanKL { o.set("meanKL", .double(meanKL)) }
        if let maxKL { o.set("maxKL", .double(maxKL)) }
        if let firstDivergence { o.set("firstDivergence", .string(firstDivergence)) }
        o.set("worstTensors", .array(worstTensors.map { t in
            var x = JSONObject()
            x.set("name", .string(t.name))
            x.set("relativeError", .double(t.relativeError.isFinite ? t.relativeError : -1))
            if let m = t.shapeMismatch { x.set("shapeMismatch", .string(m)) }
            return .object(x)
        }))
        o.set("descriptionDifferences", .array(descriptionDifferences.map { .string($0) }))
        o.set("notes", .array(notes.map { .string($0) }))
        return .object(o)
    }
}
