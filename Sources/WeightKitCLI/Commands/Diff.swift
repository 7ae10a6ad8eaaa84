import ArgumentParser
import WeightKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension WeightKitCommand {
    /// `weightkit diff A B`: what a conversion or quantization changed, tensor by tensor and
    /// (with `--prompt`) in the next-token distributions.
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare two models tensor by tensor, and their next-token distributions on a prompt.",
            discussion: """
                Tensors are matched by name after mapping GGUF names to Hugging Face names (with \
                llama.cpp's Q/K permutation undone); block-quantized tensors are decoded. For each \
                pair: max |Δ|, RMSE and cosine similarity; tensors only in A or only in B are \
                listed. With --prompt, both models run the prompt token by token and their \
                next-token distributions are compared at every position: KL(A ‖ B) and whether the \
                top-1 tokens agree.

                Examples:
                  weightkit diff ./SmolLM2-135M/ smol-q4_0.gguf
                  weightkit diff smol-f32.gguf smol-q8_0.gguf --prompt "The capital of France is" --json
                """)

        @Argument(help: "The first model or weights file (the reference).")
        var a: String

        @Argument(help: "The second model or weights file.")
        var b: String

        @Option(name: .long, help: "Compare next-token distributions on this prompt (both must be runnable models).")
        var prompt: String?

        @Flag(name: .long, help: "Print the results as JSON on stdout.")
        var json = false

        @OptionGroup var runtime: RuntimeOptions

        @OptionGroup var verbosity: VerbosityOptions

        func run() throws {
            try reportingErrors(verbose: verbosity.verbose, quiet: verbosity.quiet) {
                let report = try ModelComparison.tensors(ModelComparison.normalizedTensors(a), ModelComparison.normalizedTensors(b))
                var rows: [JSONValue] = []
                var worst: (String, Double)? = nil
                if !json { Console.out("tensor".padded(48) + "  max|Δ|      rmse        cosine") }
                for delta in report.deltas {
                    if let mismatch = delta.shapeMismatch {
                        rows.append(["name": .string(delta.name), "error": .string("shape \(mismatch)")])
                        if !json { Console.out(delta.name.padded(48) + "  shape \(mismatch)") }
                        continue
                    }
                    let s = delta.stats
                    if s.cosine < (worst?.1 ?? 2) { worst = (delta.name, s.cosine) }
                    rows.append([
                        "name": .string(delta.name), "maxAbsDiff": .double(s.maxAbsError), "rmse": .double(s.rmse),
                        "cosine": .double(s.cosine),
                    ])
                    if !json {
                        let cells: [String] = [delta.name.padded(48), Self.short(s.maxAbsError).padded(10), Self.short(s.rmse).padded(10), Self.short(s.cosine)]
                        Console.out(cells.joined(separator: "  "))
                    }
                }
                let (onlyA, onlyB) = (report.onlyInFirst, report.onlyInSecond)
                var result = JSONObject()
                result.set("tensors", .array(rows))
                result.set("onlyInA", .array(onlyA.map { JSONValue.string($0) }))
                result.set("onlyInB", .array(onlyB.map { JSONValue.string($0) }))
                if !json {
                    if !onlyA.isEmpty { Console.out("only in A: \(onlyA.joined(separator: ", "))") }
                    if !onlyB.isEmpty { Console.out("only in B: \(onlyB.joined(separator: ", "))") }
                    if let worst { Console.out("\(rows.count) tensors compared; lowest cosine \(worst.1) (\(worst.0))") }
                }
                if let prompt { result.set("prompt", try Self.comparePrompt(prompt, a: a, b: b, json: json, runtime: runtime.options)) }
                if json { Console.out(JSONWriter.serialize(.object(result), indent: 2)) }
            }
        }

        /// A number in at most ten characters of mantissa, keeping any exponent.
        static func short(_ x: Double) -> String {
            let text = String(x)
            guard let e = text.firstIndex(of: "e") else { return String(text.prefix(10)) }
            return String(text[..<e].prefix(6)) + text[e...]
        }
    }
}
