import ArgumentParser
import WeightKit

extension WeightKitCommand {
    /// `weightkit embed MODEL --text TEXT … | --file FILE`: sentence embeddings from an encoder.
    struct Embed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sentence embeddings from an encoder (BERT, all-MiniLM, BGE), and their cosine similarities.",
            discussion: """
                Pooling, normalisation and the maximum sequence length come from the model: a \
                sentence-transformers folder's modules.json, 1_Pooling/config.json and \
                sentence_bert_config.json, a pack's sentence_transformers.* metadata, or a GGUF's \
                pooling_type; mean pooling and L2 normalisation when it says nothing. Longer texts \
                are cut to the maximum length, keeping [CLS] and [SEP]. Texts run together in \
                batches without padding.

                Text output shows each embedding's first values and norm, and the cosine \
                similarity matrix for two to sixteen texts; --json has every value.

                Examples:
                  weightkit embed all-MiniLM-L6-v2/ --text "A man is eating food." --text "A man eats bread."
                  weightkit embed minilm.gguf --file sentences.txt --json
                """)

        @Argument(help: "The encoder (a Hugging Face folder, a .wkp pack or a GGUF file).")
        var model: String

        @Option(name: .long, help: "A text to embed (repeat for several).")
        var text: [String] = []

        @Option(name: .long, help: "A UTF-8 file of texts, one per line (empty lines skipped).")
        var file: String?

        @Option(name: .long, help: "Pooling instead of the model's: mean, cls, max, mean_sqrt_len or last.")
        var pooling: String?

        @Flag(name: .customLong("no-normalize"), help: "Do not divide the embeddings by their L2 norm.")
        var noNormalize = false

        @Option(name: .long, help: "Longest token sequence read, special tokens included (default: the model's).")
        var maxLength: Int?

        @Flag(name: .long, help: "Print the report as JSON on stdout.")
        var json = false

        @OptionGroup var runtime: RuntimeOptions

        @OptionGroup var verbosity: VerbosityOptions

        func validate() throws {
            if text.isEmpty, file == nil { throw ValidationError("give texts with --text or --file") }
            if let pooling, EmbeddingSettings.Pooling(rawValue: pooling) == nil {
                throw ValidationError("unknown --pooling '\(pooling)'; expected mean, cls, max, mean_sqrt_len or last")
            }
            if let maxLength, maxLength < 2 { throw ValidationError("--max-length must be at least 2") }
        }

        func run() throws {
            try reportingErrors(verbose: verbosity.verbose, quiet: verbosity.quiet) {
                var texts = text
                if let file {
                    texts += try TextFile.read(file, cap: 64 << 20).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
                }
                guard !texts.isEmpty else { throw ValidationError("\(file ?? "the input") has no text (one per line)") }
                let overrides = EmbeddingSettings.Overrides(
                    pooling: pooling.flatMap(EmbeddingSettings.Pooling.init(rawValue:)), normalize: noNormalize ? false : nil, maxSequenceLength: maxLength)
                let report = try Embedder.run(model: model, texts: texts, overrides: overrides, runtime: runtime.options)
                Console.out(json ? JSONWriter.serialize(report.json(), indent: 2) : report.text())
            }
        }
    }
}
