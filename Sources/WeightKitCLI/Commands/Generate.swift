import ArgumentParser
import WeightKit

extension WeightKitCommand {
    /// `weightkit generate PATH --prompt TEXT`: a smoke-test generation.
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate text from a prompt to prove a model works.",
            discussion: """
                Streams the continuation to stdout as it is produced (whole UTF-8 characters only) \
                and prints load time, prompt and generation speed to stderr. Stops at the model's \
                end-of-sequence (or end-of-turn with --chat) token or after --max-tokens.

                Examples:
                  weightkit generate ./SmolLM2-135M/ --prompt "The capital of France is"
                  weightkit generate ./SmolLM2-135M/ --chat --prompt "What is the capital of France?"
                  weightkit generate ./model/ --prompt "Once upon a time" --temperature 0.8 --top-p 0.95 --seed 7
                """)

        @OptionGroup var input: ModelOptions

        @Option(name: .long, help: "The text to continue (or the user message with --chat).")
        var prompt: String

        @Option(name: [.customShort("n"), .customLong("max-tokens")], help: "Most tokens to generate.")
        var maxTokens = 64

        @Option(name: .long, help: "Sampling temperature; 0 picks the most likely token every time (greedy).")
        var temperature: Float = 0

        @Option(name: .long, help: "Sample only among the K most likely tokens (0: no limit).")
        var topK = 0

        @Option(name: .long, help: "Sample only among the most likely tokens whose probabilities add up to P (1: no limit).")
        var topP: Float = 1

        @Option(name: .long, help: "Penalty for repeating recent tokens (1: none; 1.1 is a common choice).")
        var repeatPenalty: Float = 1

        @Option(name: .long, help: "Seed for sampling: the same seed gives the same text.")
        var seed: UInt64 = 0

        @Flag(name: .long, help: "Wrap the prompt in the model's chat template (ChatML, Llama 2 or Llama 3).")
        var chat = false

        @Option(name: .long, help: "A system message for --chat (default: the template's own, if any).")
        var system: String?

        @OptionGroup var runtime: RuntimeOptions

        @Flag(name: .long, help: "Print prompt ids, generated ids, text and timings as JSON instead of streaming (keys in docs/JSON.md).")
        var json = false

        func validate() throws {
            guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
            guard temperature >= 0 else { throw ValidationError("--temperature must be 0 or more") }
            guard topK >= 0, topP > 0, topP <= 1 else { throw ValidationError("--top-k must be ≥ 0 and --top-p in (0, 1]") }
            guard repeatPenalty > 0 else { throw ValidationError("--repeat-penalty must be positive") }
            if system != nil && !chat { throw ValidationError("--system needs --chat") }
        }

        func run() throws {
            try reportingErrors(verbose: input.verbose, quiet: input.quiet) {
                let t0 = monotonicSeconds()
                let (model, tokenizer) = try input.loadWithTokenizer()
                let (promptIDs, stop) = try encode(model: model, tokenizer: tokenizer)
                // The runtime's one-time setup for decoding counts in the load time.
                let graph = Transformer.preparedGraph(model.graph, options: runtime.options)
                let transformer = Transformer(graph: graph, maxSequence: promptIDs.count + maxTokens, options: runtime.options)
                let loadSeconds = monotonicSeconds() - t0
                var sampler = Sampler(temperature: temperature, topK: topK, topP: topP, repetitionPenalty: repeatPenalty, seed: seed)
                var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
                let (ids, timings) = try Generator(transformer: transformer).generate(
                    prompt: promptIDs, maxTokens: maxTokens, sampler: &sampler, stop: stop, clock: monotonicSeconds
                ) { id in
                    if !json { Console.write(detokenizer.append(id)) }
                    return true
                }
                let text = tokenizer.decode(ids, skipSpecialTokens: true)
                if json {
                    Console.out(JSONWriter.serialize([
                        "promptIds": .array(promptIDs.map { .integer($0) }), "ids": .array(ids.map { .integer($0) }), "text": .string(text),
                        "loadSeconds": .double(loadSeconds), "promptTokensPerSecond": .double(rate(timings.promptTokens, timings.promptSeconds)),
                        "generateTokensPerSecond": .double(rate(timings.generatedTokens, timings.generateSeconds)),
                    ], indent: 2))
                } else {
                    Console.out(detokenizer.finish())
                }
                Console.info(
                    "load \(fixed(loadSeconds * 1000)) ms · prompt \(timings.promptTokens) tokens at \(fixed(rate(timings.promptTokens, timings.promptSeconds))) tok/s"
                        + " · generated \(timings.generatedTokens) tokens at \(fixed(rate(timings.generatedTokens, timings.generateSeconds))) tok/s")
            }
        }

        /// Prompt ids (through the chat template with --chat) and the ids that end generation.
        func encode(model: LoadedModel, tokenizer: any Tokenizer) throws -> ([Int], Set<Int>) {
            var stop = Set(model.graph.config.eosTokenIDs)
            if let eos = tokenizer.eosTokenId { stop.insert(eos) }
            guard chat else { return (tokenizer.encode(prompt, addSpecialTokens: true), stop) }
            let template = try model.chatTemplateText.flatMap(ChatTemplate.init(templateText:)) ?? fallbackTemplate(model)
            for token in template.endOfTurnTokens { if let id = tokenizer.id(for: token) { stop.insert(id) } }
            return (tokenizer.encode(template.render(user: prompt, system: system), addSpecialTokens: false), stop)
        }

        func fallbackTemplate(_ model: LoadedModel) throws -> ChatTemplate {
            if model.graph.config.family == .qwen2 { return .chatML(defaultSystem: nil) }
            throw ValidationError("\(input.path) has no chat template WeightKit recognises (ChatML, Llama 2, Llama 3); run without --chat")
        }
    }
}
