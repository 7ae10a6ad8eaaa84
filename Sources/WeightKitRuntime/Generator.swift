/// Runs a prompt through a `Transformer` and samples new tokens until a stop token or the limit.
public struct Generator {
    /// Timings of one generation, for the tokens/s report.
    public struct Timings: Sendable {
        /// Prompt tokens run (prefill).
        public var promptTokens = 0
        /// Seconds the prompt (prefill) took.
        public var promptSeconds = 0.0
        /// Tokens generated.
        public var generatedTokens = 0
        /// Seconds decoding took.
        public var generateSeconds = 0.0
    }

    /// The model runner.
    public let transformer: Transformer

    /// Creates a generator over `transformer`.
    public init(transformer: Transformer) { self.transformer = transformer }

    /// Generates up to `maxTokens` tokens after `prompt`, calling `onToken` with each new id
    /// (return false to stop). Stops after a token in `stop` (which is reported, then ends).
    public func generate(
        prompt: [Int], maxTokens: Int, sampler: inout Sampler, stop: Set<Int> = [],
        clock: () -> Double, onToken: (Int) throws -> Bool
    ) throws -> (tokens: [Int], timings: Timings) {
        guard !prompt.isEmpty else { throw RuntimeError(.invalidRequest, "the prompt has no tokens") }
        let c = transformer.graph.config
        guard c.causal else {
            throw RuntimeError.encoderHasNoLogits(c.family.rawValue)
        }
        guard prompt.count + maxTokens <= transformer.capacity + 1 else {
            throw RuntimeError(
                .contextOverflow,
                "prompt of \(prompt.count) tokens plus \(maxTokens) new tokens exceeds the \(transformer.capacity)-token context")
        }
        var timings = Timings()
        transformer.reset()
        let t0 = clock()
        var logits = try transformer.forward(prompt)
        timings.promptTokens = prompt.count
        timings.promptSeconds = clock() - t0
        var history = prompt
        var output: [Int] = []
        let t1 = clock()
        while output.count < maxTokens {
            let next = sampler.sample(logits, history: history)
            output.append(next)
            history.append(next)
            let keepGoing = try onToken(next)
            if stop.contains(next) || !keepGoing || output.count == maxTokens { break }
            logits = try transformer.forward([next])
        }
        timings.generatedTokens = output.count
        timings.generateSeconds = clock() - t1
        return (output, timings)
    }
}
