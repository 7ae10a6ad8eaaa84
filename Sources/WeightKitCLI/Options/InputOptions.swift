import ArgumentParser
import WeightKitFormats

/// The input path and an optional format override.
struct InputOptions: ParsableArguments {
    @Argument(help: "A weights file (.safetensors, .gguf) or a Hugging Face model folder.")
    var path: String

    @Option(name: .long, help: "Read the input as this format instead of detecting it (safetensors, hf, gguf).")
    var format: String?

    @Flag(name: .long, help: "Show where in WeightKit an error was raised.")
    var verbose = false

    func validate() throws {
        if let format, TensorFormat(userName: format) == nil {
            throw ValidationError("unknown --format '\(format)'; expected one of: \(TensorFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// The parsed `--format`, if given.
    var resolvedFormat: TensorFormat? { format.flatMap(TensorFormat.init(userName:)) }
}
