import ArgumentParser
import WeightKit
import WeightKitCore
import WeightKitFormats

extension WeightKitCommand {
    /// `weightkit validate PATH`: is this file sound? The exit code says.
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that a weights file or model folder is sound; exit 65 if not.",
            discussion: """
                Checks, each reported as a finding (error, warning or note) rather than stopping \
                at the first: the format's structure (header, dtypes, shapes, offsets, file size; \
                for a pack every CRC-32); numerics (NaN/Inf counts are errors; all-zero tensors, \
                weights with |x| > 1e4 and, with --for-dtype f16, values f16 cannot hold are \
                warnings); and, when the architecture is recognised (config.json, GGUF metadata \
                or a pack's config), missing, extra and mis-shaped tensors, tied embeddings and \
                the tokenizer's size against the vocabulary. --hash prints a per-tensor SHA-256 \
                manifest on stdout, the summary then going to stderr (or writes it with --hash-output); --check verifies one.

                Exit status: 0 when there are no errors (warnings too, with --strict), 65 otherwise.

                Examples:
                  weightkit validate model.wkp
                  weightkit validate ./SmolLM2-135M/ --json
                  weightkit validate model.safetensors --for-dtype f16 --strict
                  weightkit validate model.gguf --hash > model.sha256
                  weightkit validate converted.safetensors --check model.sha256
                """)

        @OptionGroup var input: InputOptions

        @Flag(name: .long, help: "Print the report as JSON on stdout.")
        var json = false

        @Flag(name: .long, help: "Fail (exit 65) on warnings too.")
        var strict = false

        @Option(name: .customLong("for-dtype"), help: "Warn about values this dtype cannot hold (f16, bf16).")
        var forDType: String?

        @Flag(name: .long, help: "Compute each tensor's SHA-256 and print the manifest (\"HEX  NAME\" lines).")
        var hash = false

        @Option(name: .customLong("hash-output"), help: "With --hash: write the manifest to this file instead of stdout.")
        var hashOutput: String?

        @Option(name: .long, help: "Verify each tensor against this SHA-256 manifest.")
        var check: String?

        @Flag(name: .customLong("no-numerics"), help: "Skip the scan of every value (faster on huge files).")
        var noNumerics = false

        func validate() throws {
            if let forDType {
                guard let parsed = DType(name: forDType), [.float16, .bfloat16, .float32].contains(parsed) else {
                    throw ValidationError("--for-dtype must be f16, bf16 or f32 (got '\(forDType)')")
                }
            }
            if hashOutput != nil && !hash { throw ValidationError("--hash-output needs --hash") }
        }

        func run() throws {
            var result: ValidationResult?
            try reportingErrors(verbose: input.verbose, quiet: input.quiet) {
                var options = ValidationOptions()
                options.forDType = forDType.flatMap(DType.init(name:))
                options.numerics = !noNumerics
                options.computeHashes = hash
                if let check {
                    let file = try MappedFile(path: check)
                    let text = unsafe file.withUnsafeBytes { unsafe String(decoding: $0, as: UTF8.self) }
                    options.expected = try TensorManifest(parsing: text, path: check)
                }
                result = try Validator.validate(
                    path: input.path, format: input.resolvedFormat, options: options,
                    progress: { done, total in Console.progress("checking", done, total) })
                if let manifest = result?.manifest, let hashOutput {
                    let file = try OutputFile(path: hashOutput)
                    try file.write(manifest.text)
                    try file.commit()
                }
            }
            guard let result else { return }
            if json {
                Console.out(JSONWriter.serialize(result.json(), indent: 2))
            } else if let manifest = result.manifest, hashOutput == nil {
                // The manifest is the data (stdout, redirectable to a file); the summary goes to stderr.
                Console.write(manifest.text)
                Console.error(result.text(verbose: input.verbose))
            } else {
                Console.out(result.text(verbose: input.verbose))
            }
            if !result.passes(strict: strict) { throw ExitCode(WeightKitExit.dataError) }
        }
    }
}
