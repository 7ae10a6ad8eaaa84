import ArgumentParser
import WeightKit

extension WeightKitCommand {
    /// `weightkit quantize IN OUT --type q8_0|q4_0|q4_1|iq4_nl|iq4_xs|q4_k_m|…`: block-quantize weight matrices.
    struct Quantize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Quantize weight matrices (Q8_0, Q4_0, Q4_1, IQ4_NL, IQ4_XS or a llama-quantize mix) and report the error.",
            discussion: """
                Any readable input (Hugging Face folder, safetensors, npz, GGUF, pack) to a .gguf or \
                .wkp file; the blocks are byte-identical to ggml's reference quantizers. --type \
                q8_0, q4_0, q4_1, iq4_nl or iq4_xs quantizes 2-D floating tensors whose rows are a \
                multiple of 32 (iq4_xs rows that are not whole 256-value super-blocks get iq4_nl, as \
                in llama-quantize); norms, biases and 1-D tensors stay in float; --keep GLOB keeps more; \
                --embeddings chooses for the token embedding and output matrices. Block-quantized \
                inputs are decoded to f32 first. A folder → .gguf gets GGUF names, llama.cpp's Q/K \
                order, hyperparameters and tokenizer keys. A .wkp output is a runnable pack as \
                weightkit convert writes it: config, tokenizer.json, tokenizer_config.json and chat \
                templates, Hugging Face names and Q/K order (a GGUF's quantized rows reordered, the \
                same blocks as its .gguf output).

                The llama-quantize mixes q2_k, q2_k_s, q3_k_s, q3_k_m (q3_k), q3_k_l, q4_k_s, \
                q4_k_m (q4_k), q5_k_s, q5_k_m (q5_k), q6_k, q5_0 and q5_1 give each tensor the type \
                llama-quantize (llama.cpp 0c1e570) gives it, and set general.file_type as it does; \
                they need GGUF names and the architecture, so the input is a GGUF, a model folder or its pack. \
                --imatrix reads llama-imatrix's GGUF or legacy .dat importance matrix, for a mix \
                or for q4_0, q4_1, iq4_nl, iq4_xs (as llama-quantize --pure --imatrix; q8_0 ignores it, as ggml does). \
                --dry-run prints each tensor's type (and why) without writing; --json gives \
                each tensor's reason. The file is byte for byte what llama-quantize writes for a \
                GGUF input (K-quants, Q5_0/Q5_1 and IQ4_NL fallbacks included). See docs/QUANTIZE.md.

                Examples:
                  weightkit quantize ./SmolLM2-135M/ smol-q8_0.gguf --type q8_0
                  weightkit quantize ./SmolLM2-135M/ smol-q4_0.wkp --type q4_0 --keep '*.down_proj.*'
                  weightkit quantize model.gguf model-q4_1.gguf --type q4_1 --embeddings f16 --json
                  weightkit quantize smol-f32.gguf smol-q4_k_m.gguf --type q4_k_m --imatrix imatrix.gguf
                  weightkit quantize ./SmolLM2-135M/ smol.gguf --type q3_k_m --dry-run
                  weightkit quantize smol-f32.gguf smol-q4_k_m.wkp --type q4_k_m   (then: weightkit generate smol-q4_k_m.wkp)
                  weightkit quantize smol-f32.gguf smol-q4_0.gguf --type q4_0 --imatrix imatrix.gguf
                """)

        @OptionGroup var input: InputOptions

        @Argument(help: "The output file: .gguf or .wkp.")
        var output: String

        @Option(name: .long, help: "Block type (\(Quantize.blockTypes.joined(separator: ", "))) or llama-quantize mix (\(Quantize.mixNames)).")
        var type: String

        /// The block types `--type` names on their own (every scheme no mix name shadows).
        static var blockTypes: [String] { QuantScheme.allCases.map(\.rawValue).filter { QuantMix(name: $0) == nil } }

        /// The mix names `--type` accepts, with llama-quantize's aliases.
        static var mixNames: String {
            QuantMix.allCases.map { mix in
                let aliases = ["q3_k", "q4_k", "q5_k"].filter { QuantMix(name: $0) == mix }
                return aliases.isEmpty ? mix.rawValue : "\(mix.rawValue) (\(aliases.joined(separator: ", ")))"
            }.joined(separator: ", ")
        }

        @Option(name: .long, help: "An importance matrix from llama-imatrix (GGUF or legacy .dat): for a mix, or a block type as llama-quantize --pure --imatrix (Q8_0 ignores it).")
        var imatrix: String?

        @Option(name: .long, help: "Keep tensors whose name matches this glob in float (repeatable).")
        var keep: [String] = []

        @Option(name: .long, help: "Token embedding / output matrices: q8_0, f16 or keep.")
        var embeddings: String = "q8_0"

        @Option(name: .long, help: "Threads used for encoding (0: all cores).")
        var threads: Int = 0

        @Flag(name: .long, help: "Only plan: print each tensor's type (and a mix's reason) without quantizing or writing.")
        var dryRun = false

        @Flag(name: .long, help: "Print the report as JSON on stdout.")
        var json = false

        @Option(name: .long, help: "Write .gguf output as shards of at most this size (e.g. 2GB), named OUT-00001-of-0000N.gguf as llama-gguf-split names them.")
        var shardSize: String?

        @Flag(name: .long, help: "Overwrite an existing output (never the input itself).")
        var force = false

        /// The llama-quantize mix `--type` names, when it names one. A mix name wins over a
        /// block type of the same name (q5_0, q6_k …); q4_0, q4_1 and q8_0 are WeightKit's own
        /// policies.
        var mix: QuantMix? { QuantMix(name: type) }

        func validate() throws {
            guard QuantScheme(rawValue: type.lowercased()) != nil || mix != nil else {
                throw ValidationError("--type must be a block type (\(Self.blockTypes.joined(separator: ", "))) or a mix (\(Self.mixNames)) (got '\(type)')")
            }
            if mix != nil, !keep.isEmpty || embeddings.lowercased() != "q8_0" {
                throw ValidationError("--keep and --embeddings apply to the block types (\(Self.blockTypes.joined(separator: ", "))); a mix follows llama-quantize's rules")
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
                let progress: @Sendable (Int, Int) -> Void = { done, total in Console.progress("quantizing", done, total) }
                let options: QuantizationOptions
                if let mix {
                    options = QuantizationOptions(
                        mix: mix, importance: try imatrix.map(ImportanceMatrix.read(path:)), importancePath: imatrix,
                        inputFormat: input.resolvedFormat, threads: threads, overwrite: force,
                        shardSize: shardSize.flatMap(parseByteSize), progress: progress)
                } else {
                    // validate() admits only a mix or a scheme.
                    let policy = QuantPolicy(
                        scheme: QuantScheme(rawValue: type.lowercased())!, keep: keep,
                        embeddings: QuantPolicy.Embeddings(rawValue: embeddings.lowercased())!)
                    options = QuantizationOptions(
                        policy: policy, inputFormat: input.resolvedFormat, threads: threads, overwrite: force,
                        shardSize: shardSize.flatMap(parseByteSize), progress: progress,
                        importance: try imatrix.map(ImportanceMatrix.read(path:)), importancePath: imatrix)
                }
                if dryRun {
                    let report = try Quantizer.dryRun(input: input.path, output: output, options: options)
                    Console.warn(report.warnings)
                    if json { Console.out(JSONWriter.serialize(report.json(), indent: 2)) } else { report.printPlan() }
                    return
                }
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
