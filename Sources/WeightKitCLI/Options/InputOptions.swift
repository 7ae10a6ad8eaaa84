import ArgumentParser
import WeightKitFormats

/// The input path, an optional format override, and the -v/-q flags every command shares.
struct InputOptions: ParsableArguments {
    @Argument(help: "A weights file (.safetensors, .gguf, .npy, .npz, .wkp) or a Hugging Face model folder.")
    var path: String

    @Option(name: .long, help: "Read the input as this format instead of detecting it (safetensors, safetensors-index, hf, npy, npz, npy-folder, gguf, wkp).")
    var format: String?

    @OptionGroup var verbosity: VerbosityOptions

    /// `-v/--verbose` was given.
    var verbose: Bool { verbosity.verbose }
    /// `-q/--quiet` was given.
    var quiet: Bool { verbosity.quiet }

    func validate() throws {
        if let format, TensorFormat(userName: format) == nil {
            throw ValidationError("unknown --format '\(format)'; expected one of: \(TensorFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// The parsed `--format`, if given.
    var resolvedFormat: TensorFormat? { format.flatMap(TensorFormat.init(userName:)) }
}

/// `-v/--verbose` and `-q/--quiet`, shared by every command (through `InputOptions`, or directly).
struct VerbosityOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Say more: where in WeightKit an error was raised, and the error's kind.")
    var verbose = false

    @Flag(name: .shortAndLong, help: "Print nothing on stderr but warnings and errors (no timings, no progress).")
    var quiet = false

    func validate() throws {
        if verbose && quiet { throw ValidationError("--verbose and --quiet cannot be used together") }
    }
}
