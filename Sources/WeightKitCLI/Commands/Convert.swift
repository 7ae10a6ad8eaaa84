import ArgumentParser
import WeightKit

extension WeightKitCommand {
    /// `weightkit convert IN OUT`: rewrite weights in another format or dtype.
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Convert weights to another format, optionally casting floating tensors.",
            discussion: """
                The output format comes from --to, else from OUT's extension; an OUT folder (an \
                existing folder or a path ending in /) becomes a Hugging Face folder, with \
                config and tokenizer files copied from an input folder. --dtype casts floating \
                tensors (f8, f16, bf16, f32, f64) with round-to-nearest-even; integer and bool \
                tensors are copied unchanged. The output appears only when it is complete.

                GGUF → folder (or .safetensors) renames tensors to Hugging Face names, undoes \
                llama.cpp's Q/K permutation and dequantizes blocks to --dtype (default f32), \
                writing config.json and tokenizer files too; folder → .gguf does the reverse \
                (GGUF v3, --dtype f32 or f16; norms stay f32). A GGUF shard set \
                (model-00001-of-00003.gguf, as llama-gguf-split writes it) reads as one model \
                from any of its shards, so converting one to a .gguf merges the set; \
                --shard-size (or --split-max-tensors) writes GGUF as such a set. GGUF → .wkp \
                gives a pack that runs as the GGUF does (Hugging Face names, config, tokenizer \
                and chat template in the pack).

                Examples:
                  weightkit convert model.safetensors model-f16.safetensors --dtype f16
                  weightkit convert ./my-model/ ./my-model-bf16/ --dtype bf16 --shard-size 2GB
                  weightkit convert ./my-model/ my-model.wkp     (config and tokenizer.json go in the pack)
                  weightkit convert SmolLM2-135M-Instruct.Q4_1.gguf ./smollm2/
                  weightkit convert ./smollm2/ smollm2-f16.gguf --dtype f16
                  weightkit convert model.gguf out.gguf --shard-size 2GB   (out-00001-of-0000N.gguf …)
                  weightkit convert model.gguf out.gguf --split-max-tensors 128
                  weightkit convert model-00001-of-00003.gguf merged.gguf
                """)

        @OptionGroup var input: InputOptions

        @Argument(help: "The output file, or a folder for a Hugging Face layout.")
        var output: String

        @Option(name: .long, help: "Output format (safetensors, hf, npy, npz, npy-folder, wkp); default from OUT's extension.")
        var to: String?

        @Option(name: .long, help: "Cast floating tensors to this dtype: f32, f16 or bf16.")
        var dtype: String?

        @Flag(name: .long, help: "Deflate tensor data where the format allows it (npz, wkp).")
        var compress = false

        @Option(name: .long, help: "Split safetensors (with an index) or GGUF output (OUT-00001-of-0000N.gguf, as llama-gguf-split) into shards of at most this size (e.g. 2GB, 500MB).")
        var shardSize: String?

        @Option(name: .long, help: "Split GGUF output into shards of at most this many tensors, as llama-gguf-split --split-max-tensors (instead of --shard-size).")
        var splitMaxTensors: Int?

        @Option(name: .long, help: "Write only the tensor with this name (required to write a multi-tensor input as one .npy).")
        var tensor: String?

        @Flag(name: .long, help: "Overwrite an existing output (never the input itself).")
        var force = false

        func validate() throws {
            if let to, TensorFormat(userName: to) == nil {
                throw ValidationError("unknown --to '\(to)'; expected one of: \(TensorFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if let dtype {
                guard let parsed = DType(name: dtype), [.float32, .float16, .bfloat16].contains(parsed) else {
                    throw ValidationError("--dtype must be f32, f16 or bf16 (got '\(dtype)')")
                }
            }
            if let shardSize, parseByteSize(shardSize) == nil {
                throw ValidationError("--shard-size must be a size like 2GB, 500MB or 1GiB (got '\(shardSize)')")
            }
            if let splitMaxTensors {
                guard splitMaxTensors > 0 else { throw ValidationError("--split-max-tensors must be at least 1 (got \(splitMaxTensors))") }
                guard shardSize == nil else { throw ValidationError("--split-max-tensors and --shard-size cannot be combined (as in llama-gguf-split)") }
            }
            do {
                _ = try Converter.outputFormat(for: output, requested: to.flatMap(TensorFormat.init(userName:)))
            } catch {
                throw ValidationError(error.message)
            }
        }

        func run() throws {
            try reportingErrors(verbose: input.verbose, quiet: input.quiet) {
                var options = ConversionOptions(
                    inputFormat: input.resolvedFormat, outputFormat: to.flatMap(TensorFormat.init(userName:)),
                    dtype: dtype.flatMap(DType.init(name:)), compress: compress, shardSize: shardSize.flatMap(parseByteSize),
                    tensor: tensor, overwrite: force, progress: { done, total in Console.progress("writing tensors", done, total) })
                options.shardMaxTensors = splitMaxTensors
                let report = try Converter.convert(input: input.path, output: output, options: options)
                Console.warn(report.warnings)
                Console.info(
                    "wrote \(report.files.joined(separator: ", ")): \(report.tensorCount) tensors, \(formatBytes(report.bytesWritten)) in \(compact(report.seconds)) s")
            }
        }
    }
}
