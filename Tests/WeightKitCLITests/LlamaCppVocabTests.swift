import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// llama.cpp's own tokenizer suite: `models/ggml-vocab-NAME.gguf` with `.inp` (texts separated by
/// `__ggml_vocab_test__` lines) and `.out` (the ids Hugging Face tokenizers gives each text, no
/// special tokens). scripts/test.sh unpacks them from the llama-cpp-python sdist and sets
/// WEIGHTKIT_LLAMA_VOCABS. Every vocabulary in the suite must be listed and give every case's ids
/// (a pre-tokenizer WeightKit does not implement is refused by name: GGUFTokenizerTests).
@Suite("llama.cpp's tokenizer suite", .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_LLAMA_VOCABS"] != nil))
struct LlamaCppVocabTests {
    static let folder = ProcessInfo.processInfo.environment["WEIGHTKIT_LLAMA_VOCABS"] ?? ""
    /// Vocabularies read completely (every case passes).
    static let supported = [
        "bert-bge", "command-r", "deepseek-coder", "deepseek-llm", "falcon", "gemma-4", "gpt-2", "llama-bpe", "llama-spm", "mpt",
        "phi-3", "qwen2", "qwen35", "refact", "starcoder",
    ]

    static func cases(_ name: String) throws -> [(text: String, ids: [Int])] {
        let base = folder + "/ggml-vocab-\(name).gguf"
        let texts = try String(contentsOfFile: base + ".inp", encoding: .utf8).components(separatedBy: "\n__ggml_vocab_test__\n")
        let ids = try String(contentsOfFile: base + ".out", encoding: .utf8).components(separatedBy: "\n")
        return zip(texts, ids).map { ($0, $1.split(separator: " ").compactMap { Int($0) }) }
    }

    @Test("every vocabulary with a test file is listed")
    func coverage() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder)
            .filter { $0.hasSuffix(".gguf.inp") }.map { String($0.dropFirst("ggml-vocab-".count).dropLast(".gguf.inp".count)) }
        #expect(Set(names) == Set(Self.supported), "vocabularies not listed: \(Set(names).subtracting(Self.supported))")
    }

    @Test("a vocabulary WeightKit reads gives Hugging Face's ids for every case", arguments: supported)
    func matches(_ name: String) throws {
        let tokenizer = try ModelLoader.tokenizer(path: Self.folder + "/ggml-vocab-\(name).gguf")
        let cases = try Self.cases(name)
        #expect(cases.count >= 40)
        var passed = 0
        for (text, ids) in cases {
            let got = tokenizer.encode(text, addSpecialTokens: false)
            #expect(got == ids, "\(name): \(String(reflecting: text)): expected \(ids.prefix(12)), got \(got.prefix(12))")
            if got == ids { passed += 1 }
        }
        print("llama.cpp vocab \(name): \(passed) of \(cases.count)")
    }
}
