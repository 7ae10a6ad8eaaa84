import ArgumentParser
import WeightKit

extension WeightKitCommand {
    /// `weightkit edit IN OUT --set KEY=VALUE --remove KEY --chat-template FILE`: GGUF, pack or
    /// safetensors metadata changed, tensors copied byte for byte.
    struct Edit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a GGUF, pack or safetensors file's metadata (set, remove, chat template) without touching its tensors.",
            discussion: """
                Tensor data is copied unchanged. The output appears only when complete; with \
                --in-place the new file replaces IN only then. --set KEY=VALUE keeps an existing \
                key's type (as gguf_set_metadata.py does); a new key's type is inferred (true/false: \
                bool; an integer: u32, else i32/u64/i64; a decimal: f32; else a string) or given: \
                KEY:TYPE=VALUE with TYPE u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, bool, str, \
                or [T] with a JSON array. A pack's metadata and a safetensors file's __metadata__ \
                hold strings only (KEY=VALUE is a string there; another TYPE is refused); a pack's \
                chat template is its chat_template key. A pack's config (its config.json) is \
                edited as config.NAME (config.rope_scaling.factor for a nested key) with a JSON \
                value of the kind it replaces; the edited config must still read and fit the \
                pack's tensors, else nothing is written. Everything else (tokenizer, tensor \
                entries, data) is copied byte for byte.

                Examples:
                  weightkit edit model.gguf fixed.gguf --chat-template template.jinja
                  weightkit edit model.gguf --in-place --set general.name="My model" --remove general.url
                  weightkit edit model.gguf out.gguf --set my.layers:[u32]=[1,2,3]
                  weightkit edit model.wkp out.wkp --chat-template template.jinja --remove note
                  weightkit edit model.wkp out.wkp --set config.rope_theta=500000
                  weightkit edit model.wkp out.wkp --remove config.eos_token_id --set config.eos_token_id=[2,7]
                """)

        @Argument(help: "The GGUF, pack (.wkp) or safetensors file to edit.")
        var input: String

        @Argument(help: "The file to write (omit with --in-place).")
        var output: String?

        @Option(name: .long, help: "KEY=VALUE or KEY:TYPE=VALUE; repeatable.")
        var set: [String] = []

        @Option(name: .long, help: "A key to remove; repeatable.")
        var remove: [String] = []

        @Option(name: .long, help: "A file whose text becomes the chat template (GGUF tokenizer.chat_template, pack chat_template).")
        var chatTemplate: String?

        @Flag(name: .long, help: "Replace IN (only once the new file is complete).")
        var inPlace = false

        @Flag(name: .long, help: "Overwrite OUT if it exists.")
        var force = false

        @Flag(name: .long, help: "Print what changed as JSON on stdout.")
        var json = false

        @OptionGroup var verbosity: VerbosityOptions

        func validate() throws {
            guard (output == nil) == inPlace else { throw ValidationError("give either OUT or --in-place") }
            guard !set.isEmpty || !remove.isEmpty || chatTemplate != nil else { throw ValidationError("nothing to change: give --set, --remove or --chat-template") }
        }

        func run() throws {
            try reportingErrors(verbose: verbosity.verbose, quiet: verbosity.quiet) {
                let template = try chatTemplate.map { try TextFile.read($0, cap: 1 << 20) }
                let report = try MetadataEditor.edit(
                    input: input, output: output, edit: MetadataEdit(sets: set, removals: remove, chatTemplate: template), overwrite: force)
                if json {
                    Console.out(JSONWriter.serialize([
                        "output": .string(report.output), "changed": .array(report.changed.map { .string($0) }),
                        "added": .array(report.added.map { .string($0) }), "removed": .array(report.removed.map { .string($0) }),
                        "tensors": .integer(report.tensorCount), "bytesWritten": .integer(report.bytesWritten),
                    ], indent: 2))
                } else {
                    for (label, keys) in [("changed", report.changed), ("added", report.added), ("removed", report.removed)] where !keys.isEmpty {
                        Console.out("\(label): \(keys.joined(separator: ", "))")
                    }
                    Console.out("wrote \(report.output): \(report.tensorCount) tensors copied unchanged, \(report.bytesWritten) bytes")
                }
            }
        }
    }
}
