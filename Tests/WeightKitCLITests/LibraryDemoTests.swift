import Foundation
import Testing
import WeightKitTestSupport

/// Examples/LibraryDemo — the README's library snippets — builds as a separate package that
/// depends on WeightKit by path, and prints what the fixtures hold.
@Suite("WeightKit as a library")
struct LibraryDemoTests {
    @Test("the example package builds against the WeightKit product and its output is right", .timeLimit(.minutes(15)))
    func libraryDemo() throws {
        // A scratch path of its own (git-ignored by `.build*/`), kept between runs so only the
        // first build recompiles WeightKit (a few minutes); later runs are incremental.
        let scratch = repositoryRoot + "/.build-example"
        let build = try run(
            "/usr/bin/env", ["swift", "build", "--package-path", "Examples/LibraryDemo", "--scratch-path", scratch],
            currentDirectory: repositoryRoot)
        try #require(build.status == 0, "swift build failed:\n\(build.stdout.suffix(4000))\n\(build.stderr.suffix(4000))")

        let output = TemporaryFolder()
        let demo = try run(scratch + "/debug/LibraryDemo", [repositoryRoot, output.path])
        #expect(demo.status == 0, "\(demo.stderr)")
        let lines = demo.stdout.split(separator: "\n").map(String.init)

        // Loading: the fixture's config.json.
        #expect(lines.first == "model: llama with 2 layers, hidden size 64, vocabulary 256")
        // Listing: tensors of fixtures/tiny-llama, as safetensors (Python) reads them.
        let reference = try python("""
            import sys
            from safetensors import safe_open
            with safe_open(sys.argv[1], "np") as f:
                names = sorted(f.keys())
                print(len(names), sum(f.get_tensor(n).size for n in names))
                print(names[0], list(f.get_tensor(names[0]).shape))
            """, [fixture("tiny-llama/model.safetensors")]).split(separator: "\n")
        let counts = reference[0].split(separator: " ")
        #expect(lines.contains("tensors: \(counts[0]), parameters: \(counts[1])"))
        let firstName = String(reference[1].split(separator: " ")[0])
        #expect(lines.contains { $0.hasPrefix("tensor: \(firstName) f32 ") })
        // Converting: an f16 file that safetensors reads back.
        let converted = try python("""
            import sys
            from safetensors import safe_open
            with safe_open(sys.argv[1], "np") as f:
                print(sorted({str(f.get_tensor(n).dtype) for n in f.keys()}))
            """, [output.file("tiny-llama-f16.safetensors")])
        #expect(converted.trimmingCharacters(in: .whitespacesAndNewlines) == "['float16']")
        #expect(lines.contains { $0.hasPrefix("converted: ") && $0.hasSuffix("first tensor f16") })
        // Generating: transformers' greedy ids for "Hello, world" (fixtures/models/llama/reference.json).
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("models/llama/reference.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let greedy = try #require((root["text_case"] as? [String: Any])?["greedy"] as? [Int])
        #expect(lines.contains("generated ids: " + greedy.map(String.init).joined(separator: " ")))
        // GGUF → Hugging Face folder through Converter: no warnings, weights and side files, and
        // every tensor equal to gguf-py's dequantized values (the check GGUFConvertTests makes).
        #expect(!lines.contains { $0.hasPrefix("warning:") })
        #expect(lines.contains(
            "gguf → hf: 21 tensors, files model.safetensors config.json generation_config.json tokenizer.json tokenizer_config.json"))
        let checked = try python(GGUFConvertTests.checkFolder, [fixture("gguf/tiny_llama.gguf"), output.file("tiny-llama-hf")])
        #expect(checked.trimmingCharacters(in: .whitespacesAndNewlines) == "21")
        // Q8_0 through Quantizer: gguf-py reads the file; its 2-D weights are Q8_0 blocks whose
        // values are within one quantization step of the folder's f32 weights.
        let quantized = try python("""
            import sys, numpy as np, gguf
            from collections import Counter
            r, original = gguf.GGUFReader(sys.argv[1]), gguf.GGUFReader(sys.argv[2])
            print(sorted(Counter(t.tensor_type.name for t in r.tensors).items()), r.fields["general.file_type"].contents())
            reference = {t.name: gguf.quants.dequantize(t.data, t.tensor_type) for t in original.tensors}
            for t in r.tensors:
                x, y = gguf.quants.dequantize(t.data, t.tensor_type), reference[t.name]
                limit = np.abs(y).max() / 127 if t.tensor_type.name == "Q8_0" else 0
                assert x.shape == y.shape and np.abs(x - y).max() <= limit, t.name
            """, [output.file("tiny-llama-q8_0.gguf"), fixture("gguf/tiny_llama.gguf")])
        #expect(quantized == "[('F32', 5), ('Q8_0', 16)] 7\n")
        #expect(lines.contains("quantized: 16 of 21 tensors to q8_0, lowest cosine above 0.999"))
    }
}
