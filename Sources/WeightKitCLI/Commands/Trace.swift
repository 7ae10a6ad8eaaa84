import ArgumentParser
import WeightKit

extension WeightKitCommand {
    /// `weightkit trace PATH --prompt TEXT`: the four stages of the forward pass on one prompt.
    struct Trace: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what a model does with a prompt, stage by stage.",
            discussion: """
                1. tokens, embedding norms and nearest vocabulary tokens; 2. attention per layer and \
                head (top attended tokens and entropy at the last position); 3. norms of what \
                attention and the MLP add to the residual stream, top MLP neurons; 4. the next-token \
                distribution and the logit lens (the final norm + unembedding after every layer).

                Examples:
                  weightkit trace SmolLM2-135M-Instruct.Q4_1.gguf --prompt "The capital of France is"
                  weightkit trace ./model/ --prompt "Hello" --layers 0,5-7 --top 3 --json
                  weightkit trace ./model/ --prompt "Hello" --html report.html
                """)

        @OptionGroup var input: ModelOptions

        @Option(name: .long, help: "The text to trace.")
        var prompt: String

        @Option(name: .long, help: "Layers whose attention is shown: all, last, or a list like 0,2,5-7 (-1 is the last).")
        var layers = "all"

        @Option(name: .long, help: "How many entries each top list shows (neighbours, attended tokens, neurons, predictions).")
        var top = 5

        @Flag(name: .long, help: "Print the whole trace (attention matrices included) as JSON.")
        var json = false

        @Option(name: .long, help: "Also write a self-contained HTML report to this file.")
        var html: String?

        @OptionGroup var runtime: RuntimeOptions

        func validate() throws {
            guard top > 0, top <= 100 else { throw ValidationError("--top must be between 1 and 100") }
        }

        func run() throws {
            try reportingErrors(verbose: input.verbose, quiet: input.quiet) {
                let model = try input.load()
                guard let selected = Tracer.parseLayers(layers, layerCount: model.graph.config.layers) else {
                    throw ValidationError("--layers \"\(layers)\" is not all, last or a list of layers in 0 ... \(model.graph.config.layers - 1)")
                }
                let trace = try Tracer.trace(model: model, prompt: prompt, options: .init(layers: selected, top: top, runtime: runtime.options))
                if let html {
                    let file = try OutputFile(path: html)
                    try file.write(trace.html)
                    try file.commit()
                }
                Console.out(json ? JSONWriter.serialize(trace.json, indent: 2) : trace.text)
            }
        }
    }
}
