import Testing
import WeightKitTestSupport

@Suite("weightkit tokenize")
struct TokenizeCommandTests {
    let smollm2 = fixture("tokenizer/smollm2/tokenizer.json")

    @Test("Encoding prints the ids the reference gives, then one line per token")
    func encodes() throws {
        let result = try run(weightkitBinary, ["tokenize", smollm2, "The capital of France is"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == "504 3575 282 4649 314")
        #expect(lines.count == 6 && lines[2].contains("\" capital\"") && lines[2].contains("Ġcapital"))
    }

    @Test("--json prints ids, tokens and pieces; a folder path works")
    func json() throws {
        let result = try run(weightkitBinary, ["tokenize", fixture("tokenizer/minilm"), "Hello, world!", "--json"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("\"ids\": [\n    101,\n    7592,"))
        #expect(result.stdout.contains("\"[SEP]\""))
    }

    @Test("--decode turns ids back into text")
    func decodes() throws {
        let result = try run(weightkitBinary, ["tokenize", smollm2, "--decode", "504", "3575", "282", "4649", "314"])
        #expect(result.status == 0 && result.stdout == "The capital of France is\n")
    }

    @Test("Errors exit with the mapped code: missing input 66, bad tokenizer 65, usage 64")
    func errors() throws {
        let folder = TemporaryFolder()
        #expect(try run(weightkitBinary, ["tokenize", folder.file("missing.json"), "x"]).status == 66)
        try writeBytes(Array(#"{"model": {"type": "Fancy"}}"#.utf8), to: folder.file("tokenizer.json"))
        let bad = try run(weightkitBinary, ["tokenize", folder.file("tokenizer.json"), "x"])
        #expect(bad.status == 65 && bad.stderr.contains("Fancy"))
        #expect(try run(weightkitBinary, ["tokenize", smollm2]).status == 64)
    }
}
