import ArgumentParser

/// The `weightkit` root command.
public struct WeightKitCommand: ParsableCommand {
    /// The version `--version` prints.
    public static let version = "0.1.0"

    public static let configuration = CommandConfiguration(
        commandName: "weightkit",
        abstract: "Inspect, validate and convert transformer model weights.",
        discussion: """
            PATH is a weights file (.safetensors) or a Hugging Face model folder (config.json with \
            model.safetensors or a sharded model.safetensors.index.json). The format comes from \
            the file's first bytes, then its extension; --format overrides.

            Exit codes: 0 ok, 1 other failure, 64 usage, 65 invalid or corrupt input, \
            66 cannot open input, 74 write failure.
            """,
        version: version,
        subcommands: [Inspect.self, Validate.self, Convert.self, Generate.self, Tokenize.self, Bench.self, Quantize.self, Perplexity.self, Diff.self]
    )

    public init() {}
}
