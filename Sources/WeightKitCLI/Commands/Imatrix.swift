import ArgumentParser
import WeightKit

extension WeightKitCommand {
    /// `weightkit imatrix MODEL --text FILE -o OUT.gguf`: an importance matrix as llama-imatrix computes it.
    struct Imatrix: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compute an importance matrix from a text, in llama-imatrix's GGUF format.",
            discussion: """
                Runs the model over the text in chunks of --chunk-size tokens (each from an empty \
                cache, its first token BOS when the vocabulary adds one) and sums, for every weight \
                matrix of the blocks, each input column's squared activation over all tokens, as \
                llama.cpp's llama-imatrix does. The file holds <weight>.in_sum2 and <weight>.counts \
                per weight; `weightkit quantize --imatrix` and `llama-quantize --imatrix` read it. \
                Stacked experts get one row of sums and one count per expert (the tokens routed \
                to it), as llama-imatrix's mul_mat_id does. Encoders and weights fused in GGUF but \
                split at load are refused by name.

                Examples:
                  weightkit imatrix smollm2-f32.gguf --text calibration.txt -o smollm2.imatrix.gguf
                  weightkit imatrix ./SmolLM2-135M/ --text book.txt -o out.gguf --chunk-size 128 --chunks 8
                  weightkit quantize smollm2-f32.gguf smollm2-q4_k_m.gguf --type q4_k_m --imatrix out.gguf
                """)

        @OptionGroup var input: ModelOptions

        @Option(name: .long, help: "UTF-8 text file to run the model over (recorded in imatrix.datasets as given).")
        var text: String

        @Option(name: [.short, .long], help: "The importance matrix to write (.gguf).")
        var output: String

        @Option(name: .long, help: "Tokens per chunk (llama-imatrix's -c).")
        var chunkSize: Int = 512

        @Option(name: .long, help: "Run at most this many chunks (default: every whole chunk of the text).")
        var chunks: Int?

        @Flag(name: .long, help: "Also collect output.weight (the unembedding, when not tied to the embedding).")
        var processOutput = false

        @OptionGroup var runtime: RuntimeOptions

        @Flag(name: .long, help: "Overwrite an existing output (never the model or the text).")
        var force = false

        @Flag(name: .long, help: "Print the report as JSON on stdout.")
        var json = false

        func validate() throws {
            guard chunkSize >= 16 else { throw ValidationError("--chunk-size must be at least 16") }
            if let chunks, chunks < 1 { throw ValidationError("--chunks must be at least 1") }
        }

        func run() throws {
            try reportingErrors(verbose: input.verbose, quiet: input.quiet) {
                let model = try input.load()
                let options = ImportanceOptions(
                    chunkSize: chunkSize, chunks: chunks, processOutput: processOutput, runtime: runtime.options,
                    progress: { done, total in Console.progress("chunks", done, total) })
                let report = try ImportanceComputation.computeFile(model: model, textPath: text, output: output, options: options, overwrite: force)
                if json {
                    Console.out(JSONWriter.serialize([
                        "path": .string(input.path), "text": .string(text), "output": .string(output),
                        "textTokens": .int(Int64(report.textTokens)), "chunks": .int(Int64(report.chunks)),
                        "chunkSize": .int(Int64(report.chunkSize)), "skippedTokens": .int(Int64(report.skippedTokens)),
                        "beginsWithBOS": .bool(report.beginsWithBOS),
                        "tensors": .int(Int64(report.tensors)), "seconds": .double(report.seconds),
                    ], indent: 2))
                } else {
                    Console.out(
                        "\(output): \(report.tensors) tensors over \(report.chunks) chunks of \(report.chunkSize) tokens "
                            + "(\(report.textTokens) in the text\(report.beginsWithBOS ? ", BOS first in each chunk" : "")"
                            + "\(report.skippedTokens > 0 ? ", \(report.skippedTokens) chunk-final tokens not collected, as llama-imatrix" : "")), "
                            + "\(compact(report.seconds)) s")
                }
            }
        }
    }
}
