import ArgumentParser
import WeightKit

extension WeightKitCommand {
    /// `weightkit smoke MODEL [--against REFERENCE]`: does a (converted) model still work — pass or fail.
    struct Smoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tell whether a model still works: pass (exit 0) or fail (exit 65), naming what failed and where.",
            discussion: """
                Alone: the model loads and binds; every layer's output and every logit stays \
                finite (else the first layer and position that are not); its next-token \
                distributions are not near-uniform, not collapsed onto one token, and its \
                continuations depend on the prompt; a greedy continuation of each prompt is shown.

                With --against REFERENCE (any format against any format): both tokenizers encode \
                the prompts alike; both models read the reference's greedy text and, at every \
                position, rank the same token first often enough, with a small enough KL \
                divergence (mean and maximum). The limits follow the weaker precision of the two \
                (f32, f16/bf16, 8-bit, 5/6-bit, 4-bit, below 4 bits; docs/SMOKE.md) unless given. \
                A failure names the first sublayer where the two models part, the tensors \
                furthest from the reference's, and any difference in the model descriptions.

                Examples:
                  weightkit smoke smol-q4_0.gguf
                  weightkit smoke smol-q4_0.gguf --against ./SmolLM2-135M/
                  weightkit smoke converted/ --against original.gguf --prompts prompts.txt --json
                """)

        @Argument(help: "The model to judge (a weights file or a Hugging Face model folder).")
        var model: String

        @Option(name: .long, help: "A reference model to compare with (any format).")
        var against: String?

        @Option(name: .long, help: "A UTF-8 file of prompts, one per line (default: four built-in prompts).")
        var prompts: String?

        @Option(name: .long, help: "Tokens generated after each prompt.")
        var tokens: Int = 16

        @Option(name: .long, help: "Least top-1 agreement with the reference, 0...1 (default: by precision).")
        var minTop1: Double?

        @Option(name: .long, help: "Largest mean KL divergence from the reference, in nats (default: by precision).")
        var maxMeanKl: Double?

        @Option(name: .long, help: "Largest KL divergence at any position, in nats (default: by precision).")
        var maxKl: Double?

        @Flag(name: .long, help: "Print the report as JSON on stdout.")
        var json = false

        @OptionGroup var runtime: RuntimeOptions

        @OptionGroup var verbosity: VerbosityOptions

        func validate() throws {
            guard tokens >= 1 else { throw ValidationError("--tokens must be at least 1") }
            if let minTop1, !(0...1).contains(minTop1) { throw ValidationError("--min-top1 must be between 0 and 1") }
            for (name, value) in [("--max-mean-kl", maxMeanKl), ("--max-kl", maxKl)] {
                if let value, !(value >= 0) { throw ValidationError("\(name) must be 0 or more") }
            }
        }

        func run() throws {
            var passed = true
            try reportingErrors(verbose: verbosity.verbose, quiet: verbosity.quiet) {
                if minTop1 != nil || maxMeanKl != nil || maxKl != nil, against == nil {
                    throw ValidationError("--min-top1, --max-mean-kl and --max-kl need --against")
                }
                var options = SmokeOptions(tokens: tokens, minTop1Agreement: minTop1, maxMeanKL: maxMeanKl, maxKL: maxKl, runtime: runtime.options)
                if let prompts {
                    let lines = try TextFile.read(prompts, cap: 1 << 20).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
                    guard !lines.isEmpty else { throw ValidationError("\(prompts) has no prompt (one per line)") }
                    options.prompts = lines
                }
                let report = try SmokeTest.run(model: model, against: against, options: options)
                Console.out(json ? JSONWriter.serialize(report.json(), indent: 2) : report.text())
                passed = report.passed
            }
            if !passed { throw ExitCode(WeightKitExit.dataError) }
        }
    }
}
