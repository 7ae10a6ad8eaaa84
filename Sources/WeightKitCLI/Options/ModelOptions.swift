import ArgumentParser
import WeightKit

/// The model that generate, bench, trace and perplexity run: the input path, `--format` and
/// -v/-q, and the one way they load it.
struct ModelOptions: ParsableArguments {
    @OptionGroup var input: InputOptions

    /// The model's path as given.
    var path: String { input.path }
    /// `-v/--verbose` was given.
    var verbose: Bool { input.verbose }
    /// `-q/--quiet` was given.
    var quiet: Bool { input.quiet }

    /// Loads the model, read as `--format` when given; without `tokenizer` its tokenizer is not
    /// read (bench needs none).
    func load(tokenizer: Bool = true) throws -> LoadedModel {
        try ModelLoader.load(path: input.path, format: input.resolvedFormat, tokenizer: tokenizer)
    }

    /// Loads the model and its tokenizer, for commands that encode text.
    ///
    /// - Throws: `ValidationError` when the model carries no tokenizer.
    func loadWithTokenizer() throws -> (LoadedModel, any Tokenizer) {
        let model = try load()
        guard let tokenizer = model.tokenizer else {
            throw ValidationError("\(input.path) has no tokenizer (tokenizer.json or GGUF tokenizer metadata), so text cannot be encoded")
        }
        return (model, tokenizer)
    }
}
