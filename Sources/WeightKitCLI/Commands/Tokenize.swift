import ArgumentParser
import WeightKit

extension WeightKitCommand {
    /// `weightkit tokenize PATH "text"`: ids and pieces, or `--decode` ids back to text.
    struct Tokenize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the token ids and pieces of a text, or decode ids back to text.",
            discussion: """
                PATH is a tokenizer.json file, a Hugging Face model folder holding one, a .wkp pack, or a GGUF \
                file with an embedded tokenizer. Special tokens (BOS, [CLS] … [SEP]) are added as \
                the tokenizer defines them unless --no-special is given. A text is cut and padded as \
                the tokenizer.json's `truncation` and `padding` declare, as Hugging Face tokenizers' \
                encode does (all-MiniLM-L6-v2 pads to 128 ids); --no-truncation and --no-padding \
                leave those steps out. --file counts tokens without either. --json also gives each \
                token's offsets in its text (Python character indices, as tokenizers' \
                Encoding.offsets; special tokens and padding at [0, 0]).

                Examples:
                  weightkit tokenize ./SmolLM2/ "The capital of France is"
                  weightkit tokenize tokenizer.json "Hello 😀" --json
                  weightkit tokenize tokenizer.json --decode 504 3575 282 4649 314
                  weightkit tokenize tokenizer.json --file corpus.txt

                The --json output is described in docs/JSON.md.
                """)

        @Argument(help: "A tokenizer.json, a Hugging Face model folder, a .gguf file or a .wkp pack.")
        var path: String

        @Argument(help: "The text to encode.")
        var text: String?

        @Option(name: .long, help: "A second text, encoded with TEXT as a pair (the post-processor's pair template; type ids in --json).")
        var pair: String?

        @Option(name: .long, parsing: .upToNextOption, help: "Decode these ids instead of encoding text.")
        var decode: [Int] = []

        @Option(name: .long, help: "Encode every line of this file; print the token count, and the speed on stderr.")
        var file: String?

        @Flag(name: .long, help: "Do not add special tokens when encoding, and keep them when decoding.")
        var noSpecial = false

        @Flag(name: .long, help: "Do not pad to the tokenizer.json's declared padding.")
        var noPadding = false

        @Flag(name: .long, help: "Do not cut to the tokenizer.json's declared truncation length.")
        var noTruncation = false

        @Flag(name: .long, help: "Print the result as JSON on stdout (keys in docs/JSON.md).")
        var json = false

        @OptionGroup var verbosity: VerbosityOptions

        func validate() throws {
            let modes = (text != nil ? 1 : 0) + (decode.isEmpty ? 0 : 1) + (file != nil ? 1 : 0)
            guard modes == 1 else { throw ValidationError("give exactly one of: TEXT, --decode IDS…, --file FILE") }
            guard pair == nil || text != nil else { throw ValidationError("--pair goes with TEXT") }
        }

        func run() throws {
            try reportingErrors(verbose: verbosity.verbose, quiet: verbosity.quiet) {
                let tokenizer = try ModelLoader.tokenizer(path: path)
                if !decode.isEmpty {
                    let out = tokenizer.decode(decode, skipSpecialTokens: !noSpecial)
                    Console.out(json ? JSONWriter.serialize(["text": .string(out)], indent: 2) : out)
                } else if let file {
                    try encodeFile(file, tokenizer)
                } else if let text {
                    let encoding = try tokenizer.encodeAsDeclared(
                        text, pair: pair, addSpecialTokens: !noSpecial, truncate: !noTruncation, pad: !noPadding, offsets: json)
                    if encoding.overflowCount > 0 {
                        Console.info("truncated: \(encoding.overflowCount) ids past the tokenizer's max_length \(tokenizer.truncation?.maxLength ?? 0) left out (--no-truncation keeps them)")
                    }
                    printEncoding(encoding, tokenizer)
                }
            }
        }

        private func printEncoding(_ encoding: Encoding, _ tokenizer: PipelineTokenizer) {
            let ids = encoding.ids
            let tokens = ids.map { tokenizer.token(for: $0) ?? "" }
            let pieces = tokenizer.pieces(ids)
            if json {
                var value: JSONValue = [
                    "count": .int(Int64(ids.count)), "ids": .array(ids.map { .int(Int64($0)) }),
                    "tokens": .array(tokens.map { .string($0) }), "pieces": .array(pieces.map { .string($0) }),
                    "type_ids": .array(encoding.typeIds.map { .int(Int64($0)) }),
                    "attention_mask": .array(encoding.attentionMask.map { .int(Int64($0)) }),
                ]
                if case .object(var object) = value {
                    if let offsets = encoding.offsets {
                        object.set("offsets", .array(offsets.map { [.int(Int64($0.start)), .int(Int64($0.end))] }))
                    } else {
                        object.set("offsets_unavailable", .string(encoding.offsetsUnavailable ?? "not computed"))
                    }
                    value = .object(object)
                }
                Console.out(JSONWriter.serialize(value, indent: 2))
                return
            }
            Console.out(ids.map(String.init).joined(separator: " "))
            let width = ids.map { String($0).count }.max() ?? 1
            for (i, id) in ids.enumerated() {
                let number = String(repeating: " ", count: width - String(id).count) + String(id)
                Console.out("\(number)  \(JSONWriter.quote(pieces[i]))  \(JSONWriter.quote(tokens[i]))")
            }
        }

        private func encodeFile(_ file: String, _ tokenizer: PipelineTokenizer) throws {
            let mapped = try MappedFile(path: file)
            let text = unsafe mapped.withUnsafeBytes { unsafe String(decoding: $0, as: UTF8.self) }
            let start = monotonicSeconds()
            var count = 0, lines = 0
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                count += tokenizer.encode(String(line), addSpecialTokens: !noSpecial).count
                lines += 1
            }
            let seconds = monotonicSeconds() - start
            let mb = Double(mapped.count) / 1e6
            if json {
                Console.out(JSONWriter.serialize(["count": .int(Int64(count)), "lines": .int(Int64(lines)), "seconds": .double(seconds)], indent: 2))
            } else {
                Console.out("\(count) tokens in \(lines) lines")
            }
            Console.info("encoded \(Self.fixed(mb)) MB in \(Self.fixed(seconds)) s: \(Self.fixed(mb / seconds)) MB/s")
        }

        /// `x` with two decimals.
        private static func fixed(_ x: Double) -> String {
            let hundredths = Int((x * 100).rounded())
            let frac = hundredths % 100
            return "\(hundredths / 100)." + (frac < 10 ? "0" : "") + "\(frac)"
        }
    }
}
