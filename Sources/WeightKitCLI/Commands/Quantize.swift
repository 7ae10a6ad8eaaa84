import ArgumentParser
import WeightKit

extension WeightKitCommand {
    /// `weightkit quantize IN OUT --type q8_0|q4_0|q4_1`: block-quantize weight matrices.
    struct Quantize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Quantize weight matrices to Q8_0, Q4_0 or Q4_1 blocks and report the error.",
            discussion: """
                Any readable input (Hugging Face folder, safetensors, npz, GGUF, pack) to a .gguf or \
                .wkp file; the blocks are byte-identical to ggml's reference quantizers. 2-D floating \
                tensors whose rows are a multiple of 32 are quantized; norms, biases and 1-D tensors \
                stay in float; --keep GLOB keeps more; --embeddings chooses for the token embedding \
                and output matrices. Block-quantized inputs are decoded to f32 first. A folder → \
                .gguf gets GGUF names, llama.cpp's Q/K order, hyperparameters and tokenizer keys.

                Examples:
                  weightkit quantize ./SmolLM2-135M/ smol-q8_0.gguf --type q8_0
                  weightkit quantize ./SmolLM2-135M/ smol-q4_0.wkp --type q4_0 --keep '*.down_proj.*'
                  weightkit quantize model.gguf model-q4_1.gguf --type q4_1 --embeddings f16 --json
                """)

        @OptionGroup var input: InputOptions

        @Argument(help: "The output file: .gguf or .wkp.")
        var output: String

        @Option(name: .long, help: "Block type: q8_0, q4_0 or q4_1.")
        var type: String

        @Option(name: .long, help: "Keep tensors whose name matches this glob in float (repeatable).")
        var keep: [String] = []

        @Option(name: .long, help: "Token embedding / output matrices: q8_0, f16 or keep.")
        var embeddings: String = "q8_0"

        @Option(name: .long, help: "Threads used for encoding (0: all cores).")
        var threads: Int = 0

        @Flag(name: .long, help: "Print the report as JSON on stdout.")
        var json = false

        @Option(name: .long, help: "Write .gguf output as shards of at most this size (e.g. 2GB), named OUT-00001-of-0000N.gguf as llama-gguf-split names them.")
        var shardSize: String?

        @Flag(name: .long, help: "Overwrite an existing output (never the input itself).")
        var force = false

        func validate() throws {
            guard QuantScheme(rawValue: type.lowercased()) != nil else {
                throw ValidationError("--type must be q8_0, q4_0 or q4_1 (got '\(type)')")
            }
            guard QuantPolicy.Embeddings(rawValue: embeddings.lowercased()) != nil else {
                throw ValidationError("--embeddings must be q8_0, f16 or keep (got '\(embeddings)')")
            }
            if let shardSize, parseByteSize(shardSize) == nil {
                throw ValidationError("--shard-size must be a size like 2GB, 500MB or 1GiB (got '\(shardSize)')")
            }
        }

        func run() throws {
            try reportingErrors(verbose: input.verbose, quiet: input.quiet) {
                let policy = QuantPolicy(
                    scheme: QuantScheme(rawValue: type.lowercased())!, keep: keep,
                    embeddings: QuantPolicy.Embeddings(rawValue: embeddings.lowercased())!)
                let options = QuantizationOptions(
                    policy: policy, inputFormat: input.resolvedFormat, threads: threads, overwrite: force,
                    shardSize: shardSize.flatMap(parseByteSize),
                    progress: { done, total in Console.progress("quantizing", done, total) })
                let report = try Quantizer.quantize(input: input.path, output: output, options: options)
                Console.warn(report.warnings)
                if json {
                    Console.out(JSONWriter.serialize(report.json(), indent: 2))
                } else {
                    report.printTable()
                }
            }
        }
    }
}
