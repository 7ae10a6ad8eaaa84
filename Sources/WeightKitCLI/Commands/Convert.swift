import ArgumentParser
import WeightKitCore
import WeightKitFormats

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
                (GGUF v3, --dtype f32 or f16; norms stay f32).

                Examples:
                  weightkit convert model.safetensors model-f16.safetensors --dtype f16
                  weightkit convert ./my-model/ ./my-model-bf16/ --dtype bf16 --shard-size 2GB
                  weightkit convert ./my-model/ my-model.wkp     (config and tokenizer.json go in the pack)
                  weightkit convert SmolLM2-135M-Instruct.Q4_1.gguf ./smollm2/
                  weightkit convert ./smollm2/ smollm2-f16.gguf --dtype f16
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

        @Option(name: .long, help: "Split safetensors output into shards of at most this size (e.g. 2GB, 500MB), with an index.")
        var shardSize: String?

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
            if to == nil, FormatDetector.outputFormat(for: output) == nil {
                throw ValidationError("cannot tell the output format from '\(output)': give it an extension (.safetensors) or pass --to")
            }
        }

        func run() throws {
            try reportingErrors(verbose: input.verbose, quiet: input.quiet) {
                let started = monotonicSeconds()
                let target = to.flatMap(TensorFormat.init(userName:)) ?? FormatDetector.outputFormat(for: output)!
                let cast = dtype.flatMap(DType.init(name:))
                let format = try input.resolvedFormat ?? FormatDetector.detect(path: input.path)
                try Self.checkOutput(output, inputs: [input.path], force: force)
                if format == .gguf && [.huggingFace, .safetensors, .gguf].contains(target) || target == .gguf {
                    // GGUF ↔ Hugging Face: names, Q/K permutation, config and tokenizer (Convert+GGUF.swift).
                    let report = format != .gguf
                        ? try Self.huggingFaceToGGUF(input: input.path, output: output, dtype: cast)
                        : target == .gguf
                        ? try Self.ggufToGGUF(input: input.path, output: output, dtype: cast)
                        : try Self.ggufToHuggingFace(
                            input: input.path, output: output, target: target, dtype: cast ?? .float32,
                            shardSize: shardSize.flatMap(parseByteSize))
                    let seconds = monotonicSeconds() - started
                    Console.info("wrote \(report.files.joined(separator: ", ")): \(formatBytes(report.bytesWritten)) in \(compact(seconds)) s")
                    return
                }
                var folder: HuggingFaceFolder?
                let source: any TensorSource
                if format == .huggingFace {
                    folder = try HuggingFaceFolder(path: input.path)
                    source = folder!.tensors
                } else {
                    source = try FormatRegistry.open(path: input.path, format: format)
                }
                try Self.checkOutput(output, inputs: source.files, force: force)
                let payloads = try Self.plan(source: source, cast: cast, target: target, output: output, only: tensor)
                if target == .npy, payloads.count != 1 {
                    throw ValidationError("a .npy file holds one tensor, but the input has \(payloads.count); pick one with --tensor NAME")
                }
                var options = WriteOptions(
                    shardSize: shardSize.flatMap(parseByteSize), compress: compress,
                    progress: { done, total in Console.progress("writing tensors", done, total) })
                if target == .wkp { try Self.addModelFiles(to: &options, folder: folder, source: source, cast: cast) }
                let report = try FormatRegistry.write(payloads, metadata: source.metadata, to: output, format: target, options: options)
                if let folder, target == .huggingFace || (target == .safetensors && shardSize != nil) {
                    try copySideFiles(from: folder, to: output, cast: cast)
                }
                if let pack = source as? PackReader, target == .huggingFace {
                    try Self.writeModelFiles(of: pack, to: output, cast: cast)
                }
                for key in report.droppedMetadata {
                    Console.error("weightkit: warning: metadata \"\(key)\" cannot be stored in \(target.rawValue); dropped")
                }
                let seconds = monotonicSeconds() - started
                Console.info("wrote \(report.files.joined(separator: ", ")): \(payloads.count) tensors, \(formatBytes(report.bytesWritten)) in \(compact(seconds)) s")
            }
        }

        /// One payload per input tensor: floating tensors cast to `cast`, everything else as is.
        static func plan(
            source: any TensorSource, cast: DType?, target: TensorFormat, output: String, only: String? = nil
        ) throws -> [TensorPayload] {
            var tensors = source.tensors
            if let only {
                guard let picked = source.tensor(named: only) else {
                    throw FormatError(.tensorNotFound, "no tensor named \"\(only)\" in the input", path: source.files.first, tensorName: only)
                }
                tensors = [picked]
            }
            return try tensors.map { t in
                let dtype = (cast != nil && t.dtype.isFloatingPoint) ? cast! : t.dtype
                guard FormatRegistry.canStore(dtype, in: target) else {
                    throw FormatError(
                        .unsupportedDType, "\(target.rawValue) cannot store \(dtype.shortName); pass --dtype f32 or --dtype f16",
                        path: output, tensorName: t.name)
                }
                return try TensorPayload(source: source, input: t, dtype: dtype)
            }
        }

        /// Copies config and tokenizer files beside the weights; records a cast in torch_dtype.
        func copySideFiles(from folder: HuggingFaceFolder, to out: String, cast: DType?) throws {
            for name in folder.sideFiles {
                let src = joinPath(folder.path, name)
                if name == "config.json", let cast, var config = folder.config, config["torch_dtype"] != nil {
                    let names: [DType: String] = [.float32: "float32", .float16: "float16", .bfloat16: "bfloat16"]
                    config.set("torch_dtype", .string(names[cast]!))
                    let file = try OutputFile(path: joinPath(out, name))
                    try file.write(JSONWriter.serialize(.object(config), indent: 2) + "\n")
                    try file.commit()
                    continue
                }
                let mapped = try MappedFile(path: src)
                let file = try OutputFile(path: joinPath(out, name))
                try unsafe mapped.withUnsafeBytes { raw throws(FormatError) in try unsafe file.write(raw) }
                try file.commit()
            }
        }
    }
}
