import Foundation
import Testing
import WeightKitTestSupport

/// `--format` on the model-running commands: honoured (a GGUF without its extension runs when
/// told it is one), and a wrong one is a clear error rather than ignored.
@Suite("--format on generate, bench, trace and perplexity")
struct ModelFormatCLITests {
    /// The tiny GGUF fixture copied to a name with no extension.
    static func renamedGGUF(in folder: TemporaryFolder) throws -> String {
        let copy = folder.file("tiny-model")
        try writeBytes(try readBytes(fixture("gguf/tiny_llama.gguf")), to: copy)
        return copy
    }

    /// Each command on `path` with its smallest useful arguments.
    static func commands(_ path: String, text: String) -> [[String]] {
        [
            ["generate", path, "--prompt", "hello", "--max-tokens", "2"],
            ["bench", path, "--prompt", "4", "--generate", "2", "--repetitions", "1", "--threads", "1"],
            ["trace", path, "--prompt", "hello", "--top", "2"],
            ["perplexity", path, "--text", text, "--limit", "16"],
        ]
    }

    @Test("--format gguf runs a GGUF file that has no .gguf extension")
    func honoured() throws {
        let folder = TemporaryFolder()
        let path = try Self.renamedGGUF(in: folder)
        for command in Self.commands(path, text: fixture("text/jargon-file-4.4.7-excerpt.txt")) {
            let result = try weightkit(command + ["--format", "gguf"])
            #expect(result.status == 0, "\(command[0]): \(result.stderr)")
        }
    }

    @Test("a --format that does not fit the file fails with exit 65 and says what was expected")
    func wrong() throws {
        for command in Self.commands(fixture("gguf/tiny_llama.gguf"), text: fixture("text/jargon-file-4.4.7-excerpt.txt")) {
            let result = try weightkit(command + ["--format", "wkp"])
            #expect(result.status == 65, "\(command[0]): \(result.stderr)")
            #expect(result.stderr.contains("WKPACK"), "\(command[0]): \(result.stderr)")
        }
    }
}
