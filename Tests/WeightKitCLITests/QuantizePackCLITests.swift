import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// `weightkit quantize model.gguf out.wkp` writes a pack `weightkit generate` runs, as the same
/// quantization written as a .gguf runs; `--help` and the usage error name every accepted --type.
@Suite("weightkit quantize GGUF → .wkp")
struct QuantizePackCLITests {
    @Test("quantize llama3.gguf → .wkp: generate runs it and prints what the quantized .gguf prints", arguments: ["q8_0", "iq4_nl", "q4_k_m"])
    func generate(type: String) throws {
        let tmp = TemporaryFolder()
        let gguf = fixture("models/llama3/llamacpp.gguf"), pack = tmp.file("q.wkp"), quantized = tmp.file("q.gguf")
        let a = try weightkit("quantize", gguf, pack, "--type", type)
        #expect(a.status == 0, "\(a.stderr)")
        #expect(try weightkit("quantize", gguf, quantized, "--type", type).status == 0)
        let args = ["--prompt", "Hello world", "-n", "6", "--temperature", "0"]
        let x = try weightkit(["generate", pack] + args), y = try weightkit(["generate", quantized] + args)
        #expect(x.status == 0 && y.status == 0, "\(x.stderr) \(y.stderr)")
        #expect(!x.stdout.isEmpty && x.stdout == y.stdout)
        #expect(try PackReader(path: pack).config != nil)
    }

    @Test("--help and a bad --type list every block type and mix quantize accepts")
    func help() throws {
        let help = try weightkit("quantize", "--help")
        #expect(help.status == 0)
        let text = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for name in ["q8_0", "q4_0", "q4_1", "iq4_nl", "q2_k_s", "q3_k_m (q3_k)", "q4_k_m (q4_k)", "q5_k_m (q5_k)", "q6_k", "q5_0", "q5_1"] {
            #expect(text.contains(name), "--help lacks \(name): \(text)")
        }
        let bad = try weightkit("quantize", fixture("models/llama3/llamacpp.gguf"), "/tmp/never.wkp", "--type", "q7_0")
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("iq4_nl") && bad.stderr.contains("q4_k_m (q4_k)"), "\(bad.stderr)")
    }
}
