import ArgumentParser

/// The `weightkit` root command.
public struct WeightKitCommand: ParsableCommand {
    /// The version `--version` prints.
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "weightkit",
        abstract: "Inspect, convert, tokenize and run transformer model weights.",
        discussion: """
            PATH is a weights file (.safetensors, .gguf, .npy, .npz, .wkp) or a Hugging Face \
            model folder (config.json with model.safetensors or a sharded \
            model.safetensors.index.json). The format comes from the file's first bytes, then \
            its extension; --format overrides.

            Data (reports, generated text, --json) goes to stdout; timings, warnings and errors \
            to stderr. -q/--quiet keeps stderr to warnings and errors, -v/--verbose adds where \
            an error was raised. Progress is drawn only when stderr is a terminal. WeightKit \
            prints no colors, so NO_COLOR needs nothing to hold.

            Examples:
              weightkit inspect ./SmolLM2-135M/
              weightkit convert ./my-model/ ./my-model-f16/ --dtype f16
              weightkit generate model.gguf --prompt "The capital of France is"

            Shell completions: weightkit --generate-completion-script bash|zsh|fish.
            Exit codes: 0 ok, 1 other failure, 64 usage, 65 invalid or corrupt input, \
            66 cannot open input, 74 write failure.
            """,
        version: version,
        subcommands: [Inspect.self, Validate.self, Convert.self, Quantize.self, Generate.self, Tokenize.self, Trace.self, Diff.self, Perplexity.self, Bench.self, Smoke.self, Edit.self, Embed.self, Imatrix.self]
    )

    public init() {}
}
