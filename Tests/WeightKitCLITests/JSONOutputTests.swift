import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// Every `--json` output parses and has the keys docs/JSON.md documents, with the documented
/// types; and the shared CLI conventions (help, -q, no escape sequences off a terminal).
@Suite("--json outputs and CLI conventions")
struct JSONOutputTests {
    static let model = "fixtures/models/llama"

    /// Runs weightkit, expects exit 0, and parses stdout as a JSON object.
    static func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try weightkit(arguments)
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        #expect(!result.stdout.contains("\u{1B}"), "no escape sequences in data")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    /// The keys of `object` are exactly `keys` (plus any of `optional`).
    static func expectKeys(_ object: [String: Any], _ keys: Set<String>, optional: Set<String> = [], _ what: String) {
        let found = Set(object.keys)
        #expect(keys.isSubset(of: found), "\(what): missing \(keys.subtracting(found).sorted())")
        #expect(found.isSubset(of: keys.union(optional)), "\(what): undocumented \(found.subtracting(keys.union(optional)).sorted())")
    }

    /// A JSON number with an integral value (how integers arrive through JSONSerialization).
    static func isInteger(_ value: Any?) -> Bool { value as? Int != nil }

    @Test("inspect --json --stats: the documented report, tensors, layers and stats")
    func inspect() throws {
        let root = try Self.json(["inspect", Self.model, "--json", "--stats"])
        Self.expectKeys(root, ["path", "format", "files", "tensorCount", "totalElements", "totalBytes", "dtypes", "metadata", "layers", "tensors"], optional: ["config"], "inspect")
        #expect(root["format"] as? String == "safetensors", "a folder reads as its safetensors files")
        #expect(Self.isInteger(root["tensorCount"]) && Self.isInteger(root["totalBytes"]))
        let files = try #require(root["files"] as? [[String: Any]])
        Self.expectKeys(files[0], ["path", "size"], "files[]")
        let f32 = try #require((root["dtypes"] as? [String: Any])?["f32"] as? [String: Any])
        Self.expectKeys(f32, ["tensors", "elements", "bytes"], "dtypes.f32")
        #expect((root["config"] as? [String: Any])?["hidden_size"] as? Int == 64, "config keeps config.json's own keys")
        let tensors = try #require(root["tensors"] as? [[String: Any]])
        #expect(tensors.count == root["tensorCount"] as? Int)
        Self.expectKeys(tensors[0], ["name", "dtype", "shape", "elements", "bytes", "stats"], optional: ["offset"], "tensors[]")
        let stats = try #require(tensors[0]["stats"] as? [String: Any])
        Self.expectKeys(stats, ["min", "max", "mean", "std", "nan", "inf", "zeros"], "stats")
        let layers = try #require(root["layers"] as? [[String: Any]])
        let group = try #require(layers.first { $0["group"] != nil })
        Self.expectKeys(group, ["group", "prefix", "indices", "tensors"], "layers[] group")
        #expect(group["indices"] as? [Int] == [0, 1])
    }

    @Test("tokenize --json: encode, decode and --file each have their documented keys")
    func tokenize() throws {
        let tokenizer = fixture("tokenizer/smollm2/tokenizer.json")
        let encoded = try Self.json(["tokenize", tokenizer, "The capital of France is", "--json"])
        Self.expectKeys(encoded, ["count", "ids", "tokens", "pieces", "type_ids", "attention_mask"], optional: ["offsets", "offsets_unavailable"], "tokenize")
        #expect(encoded["type_ids"] as? [Int] == [0, 0, 0, 0, 0] && encoded["attention_mask"] as? [Int] == [1, 1, 1, 1, 1])
        // SmolLM2's offsets, as tokenizers gives them ("The", " capital", " of", " France", " is").
        #expect(encoded["offsets"] as? [[Int]] == [[0, 3], [3, 11], [11, 14], [14, 21], [21, 24]], "\(encoded)")
        let precompiled = try Self.json(["tokenize", fixture("tokenizer/precompiled/tokenizer.json"), "Hello", "--pair", "wörld", "--json"])
        #expect(precompiled["offsets"] as? [[Int]] == [[0, 5], [0, 1], [1, 2], [1, 2], [2, 3], [3, 4], [4, 5]], "\(precompiled)")  // byte fallback: each byte its character
        #expect(encoded["ids"] as? [Int] == [504, 3575, 282, 4649, 314])
        #expect(encoded["count"] as? Int == 5)
        #expect((encoded["pieces"] as? [String])?[1] == " capital")
        let decoded = try Self.json(["tokenize", tokenizer, "--decode", "504", "3575", "--json"])
        Self.expectKeys(decoded, ["text"], "tokenize --decode")
        #expect(decoded["text"] as? String == "The capital")
        let folder = TemporaryFolder()
        try writeBytes(Array("The capital of France is\nParis\n".utf8), to: folder.file("corpus.txt"))
        let file = try Self.json(["tokenize", tokenizer, "--file", folder.file("corpus.txt"), "--json"])
        Self.expectKeys(file, ["count", "lines", "seconds"], "tokenize --file")
        #expect(file["count"] as? Int == 6 && file["lines"] as? Int == 3)
    }

    @Test("generate --json: ids, text and timings")
    func generate() throws {
        let root = try Self.json(["generate", Self.model, "--prompt", "Hello, world", "-n", "4", "--json"])
        Self.expectKeys(root, ["promptIds", "ids", "text", "loadSeconds", "promptTokensPerSecond", "generateTokensPerSecond"], "generate")
        #expect((root["promptIds"] as? [Int])?.count == 12)
        #expect((root["ids"] as? [Int]) == [134, 243, 199, 134], "transformers' greedy ids (fixtures/models/llama/reference.json)")
        #expect((root["loadSeconds"] as? Double ?? -1) >= 0)
    }

    @Test("bench --json: load, memory and one result per thread count")
    func bench() throws {
        let root = try Self.json(["bench", Self.model, "--threads", "1,2", "--prompt", "4", "--generate", "2", "--repetitions", "1", "--json"])
        Self.expectKeys(root, ["path", "loadSeconds", "peakResidentBytes", "promptTokens", "generatedTokens", "results"], "bench")
        #expect(Self.isInteger(root["peakResidentBytes"]) && (root["peakResidentBytes"] as? Int ?? 0) > 1_000_000)
        let results = try #require(root["results"] as? [[String: Any]])
        #expect(results.map { $0["threads"] as? Int } == [1, 2])
        Self.expectKeys(results[0], ["threads", "prefillTokensPerSecond", "prefillSD", "decodeTokensPerSecond", "decodeSD"], "bench results[]")
        #expect((results[0]["decodeTokensPerSecond"] as? Double ?? 0) > 0)
    }

    @Test("validate --json: the report, its findings and the --hash manifest")
    func validate() throws {
        let root = try Self.json(["validate", "fixtures/tiny-llama", "--json", "--hash"])
        Self.expectKeys(root, ["path", "format", "status", "ok", "tensors", "bytesChecked", "errors", "warnings", "seconds", "findings"], optional: ["architecture", "sha256"], "validate")
        #expect(root["status"] as? String == "ok" && root["ok"] as? Bool == true && root["architecture"] as? String == "llama")
        #expect(root["tensors"] as? Int == 38 && Self.isInteger(root["bytesChecked"]))
        let findings = try #require(root["findings"] as? [[String: Any]])
        let note = try #require(findings.first, "a folder without a tokenizer gets a note")
        Self.expectKeys(note, ["severity", "check", "message"], optional: ["tensor", "byteOffset", "kind"], "findings[]")
        let hashes = try #require(root["sha256"] as? [[String: Any]])
        #expect(hashes.count == 38)
        Self.expectKeys(hashes[0], ["tensor", "sha256"], "sha256[]")
        #expect((hashes[0]["sha256"] as? String)?.count == 64)
    }

    @Test("quantize --json: totals and per-tensor errors")
    func quantize() throws {
        let folder = TemporaryFolder()
        let root = try Self.json(["quantize", "fixtures/tiny-llama", folder.file("q.wkp"), "--type", "q8_0", "--json"])
        Self.expectKeys(root, ["output", "tensors", "bytesBefore", "bytesAfter", "bytesWritten", "bitsPerWeight", "seconds", "inputMBPerSecond"], "quantize")
        #expect(root["bytesBefore"] as? Int == 805_120 && Self.isInteger(root["bytesWritten"]))
        let tensors = try #require(root["tensors"] as? [[String: Any]])
        let kept = try #require(tensors.first { $0["name"] as? String == "model.norm.weight" })
        Self.expectKeys(kept, ["name", "from", "to", "bytesBefore", "bytesAfter"], "tensors[] kept")
        let quantized = try #require(tensors.first { $0["to"] as? String == "q8_0" })
        Self.expectKeys(quantized, ["name", "from", "to", "bytesBefore", "bytesAfter", "rmse", "maxAbsError", "snrDB", "cosine"], "tensors[] quantized")
        #expect((quantized["cosine"] as? Double ?? 0) > 0.999)
    }

    @Test("diff --json --prompt: tensors, names on one side only and the prompt comparison")
    func diff() throws {
        let root = try Self.json(["diff", Self.model, Self.model, "--prompt", "Hi", "--json"])
        Self.expectKeys(root, ["tensors", "onlyInA", "onlyInB"], optional: ["prompt"], "diff")
        #expect((root["onlyInA"] as? [String]) == [] && (root["onlyInB"] as? [String]) == [])
        let tensors = try #require(root["tensors"] as? [[String: Any]])
        Self.expectKeys(tensors[0], ["name", "maxAbsDiff", "rmse", "cosine"], optional: ["error"], "tensors[]")
        #expect(tensors[0]["cosine"] as? Double == 1)
        let prompt = try #require(root["prompt"] as? [String: Any])
        Self.expectKeys(prompt, ["positions", "meanKL", "top1Agreement"], "prompt")
        #expect(prompt["top1Agreement"] as? Double == 1 && prompt["meanKL"] as? Double == 0)
        let position = try #require((prompt["positions"] as? [[String: Any]])?.first)
        Self.expectKeys(position, ["position", "token", "kl", "topA", "topB"], "prompt.positions[]")
    }

    @Test("perplexity --json: tokens, windows and the result")
    func perplexity() throws {
        let folder = TemporaryFolder()
        try writeBytes(Array("The quick brown fox jumps over the lazy dog. Hello, world!\n".utf8), to: folder.file("t.txt"))
        let root = try Self.json(["perplexity", Self.model, "--text", folder.file("t.txt"), "--context", "16", "--json"])
        Self.expectKeys(root, ["path", "text", "tokens", "scoredTokens", "context", "stride", "meanNLL", "perplexity", "seconds"], "perplexity")
        let tokens = try #require(root["tokens"] as? Int)
        #expect(root["scoredTokens"] as? Int == tokens - 1 && root["context"] as? Int == 16 && root["stride"] as? Int == 8)
        let nll = try #require(root["meanNLL"] as? Double), ppl = try #require(root["perplexity"] as? Double)
        #expect(abs(ppl - exp(nll)) <= 1e-9 * ppl)
        let compared = try Self.json(["perplexity", Self.model, "--text", folder.file("t.txt"), "--context", "16", "--reference", Self.model, "--json"])
        Self.expectKeys(compared, ["path", "text", "tokens", "scoredTokens", "context", "stride", "meanNLL", "perplexity", "seconds", "reference"], "perplexity --reference")
        let reference = try #require(compared["reference"] as? [String: Any])
        Self.expectKeys(reference, ["path", "perplexity", "meanKL", "meanKLUncertainty", "maxKL", "kl99", "medianKL", "sameTop", "sameTopFraction"], "perplexity --reference: reference")
        #expect(reference["sameTop"] as? Int == tokens - 1 && reference["meanKL"] as? Double == 0)
    }

    @Test("imatrix --json: chunks, tokens and tensors; the file is llama-imatrix's format")
    func imatrix() throws {
        let folder = TemporaryFolder(), out = folder.file("imatrix.gguf")
        let root = try Self.json([
            "imatrix", "fixtures/models/llama3/llamacpp.gguf", "--text", "fixtures/quant/imatrix/calibration.txt", "-o", out,
            "--chunk-size", "32", "--chunks", "2", "--json",
        ])
        Self.expectKeys(root, ["path", "text", "output", "textTokens", "chunks", "chunkSize", "skippedTokens", "beginsWithBOS", "tensors", "seconds"], "imatrix")
        #expect(root["chunks"] as? Int == 2 && root["chunkSize"] as? Int == 32 && root["tensors"] as? Int == 14)
        #expect(try ImportanceMatrix.read(path: out).chunkCount == 2)
        let short = try weightkit("imatrix", "fixtures/models/llama3/llamacpp.gguf", "--text", "README.md", "-o", out, "--chunk-size", "8")
        #expect(short.status == 64 && short.stderr.contains("--chunk-size must be at least 16"))
    }

    @Test("trace --json: tokens, per-layer trace, heads and the next-token candidates")
    func trace() throws {
        let result = try weightkit("trace", Self.model, "--prompt", "Hi", "--layers", "0", "--top", "2", "--json")
        #expect(result.stdout.hasPrefix("{\n  \""), "two-space indents")
        let root = try Self.json(["trace", Self.model, "--prompt", "Hi", "--layers", "0", "--top", "2", "--json"])
        Self.expectKeys(root, ["model", "family", "layers", "heads", "tokens", "layerTrace", "next", "firstTopLayer", "emergenceLayer"], "trace")
        let token = try #require((root["tokens"] as? [[String: Any]])?.first)
        Self.expectKeys(token, ["id", "piece", "embeddingNorm", "neighbours"], "tokens[]")
        let candidate = try #require((token["neighbours"] as? [[String: Any]])?.first)
        Self.expectKeys(candidate, ["id", "piece", "score"], "candidate")
        let layers = try #require(root["layerTrace"] as? [[String: Any]])
        #expect(layers.count == root["layers"] as? Int)
        Self.expectKeys(layers[0], ["layer", "attentionNorm", "mlpNorm", "residualNorm", "topNeurons", "lens", "finalTokenProbability", "finalTokenRank", "heads"], "layerTrace[]")
        Self.expectKeys(try #require((layers[0]["topNeurons"] as? [[String: Any]])?.first), ["index", "activation"], "topNeurons[]")
        #expect((layers.last?["heads"] as? [Any])?.isEmpty == true, "heads only for --layers")
        let head = try #require((layers[0]["heads"] as? [[String: Any]])?.first)
        Self.expectKeys(head, ["head", "entropy", "meanEntropy", "top", "weights"], "heads[]")
        Self.expectKeys(try #require((head["top"] as? [[String: Any]])?.first), ["position", "weight"], "heads[].top[]")
        #expect((root["next"] as? [Any])?.count == 2)
    }

    @Test("embed --json: settings, every text's embedding, the similarity matrix, timings; trace of an encoder adds its embedding")
    func embed() throws {
        let root = try Self.json(["embed", "fixtures/models/bert", "--text", "A man is eating food.", "--text", "x", "--json", "--threads", "1"])
        Self.expectKeys(root, ["model", "family", "settings", "texts", "loadSeconds", "embedSeconds", "textsPerSecond"], optional: ["similarity"], "embed")
        Self.expectKeys(try #require(root["settings"] as? [String: Any]), ["pooling", "normalize", "maxSequenceLength"], "embed settings")
        let texts = try #require(root["texts"] as? [[String: Any]])
        Self.expectKeys(texts[0], ["text", "tokens", "truncated", "norm", "embedding"], "embed texts[]")
        #expect((texts[0]["embedding"] as? [Double])?.count == 16 && Self.isInteger(texts[0]["tokens"]))
        #expect((root["similarity"] as? [[Double]])?.count == 2)
        let one = try Self.json(["embed", "fixtures/models/bert", "--text", "x", "--json", "--threads", "1"])
        #expect(one["similarity"] == nil, "one text: no similarity matrix")
        let trace = try Self.json(["trace", "fixtures/models/bert", "--prompt", "Hi", "--json"])
        Self.expectKeys(trace, ["model", "family", "layers", "heads", "tokens", "layerTrace", "next", "firstTopLayer", "emergenceLayer"], optional: ["embedding", "pooling"], "trace (encoder)")
        #expect((trace["embedding"] as? [Double])?.count == 16 && trace["pooling"] as? String == "mean+l2")
    }

    @Test("-q keeps stderr empty on success; without it the timings are there", arguments: [
        ["generate", "fixtures/models/llama", "--prompt", "Hi", "-n", "2"],
        ["tokenize", "fixtures/tokenizer/smollm2/tokenizer.json", "--file", "README.md"],
    ])
    func quiet(arguments: [String]) throws {
        let loud = try weightkit(arguments)
        #expect(loud.status == 0 && !loud.stderr.isEmpty)
        let quiet = try weightkit(arguments + ["-q"])
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(quiet.stderr.isEmpty)
        #expect(quiet.stdout == loud.stdout)
        #expect(try weightkit(arguments + ["-q", "-v"]).status == 64)
    }

    @Test("-q and -v exist and conflict, and a quiet run has an empty stderr", arguments: [
        ["validate", "fixtures/tiny-llama"],
        ["quantize", "fixtures/tiny-llama", "OUT", "--type", "q4_0"],
        ["diff", "fixtures/tiny-llama", "fixtures/tiny-llama"],
        ["perplexity", "fixtures/models/llama", "--text", "README.md", "--limit", "8"],
        ["trace", "fixtures/models/llama", "--prompt", "Hi"],
    ])
    func quietEverywhere(arguments: [String]) throws {
        let folder = TemporaryFolder()
        let arguments = arguments.map { $0 == "OUT" ? folder.file("q.wkp") : $0 }
        let quiet = try weightkit(arguments + ["-q"])
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(quiet.stderr.isEmpty)
        #expect(try weightkit(arguments + ["-q", "-v"]).status == 64)
    }

    @Test("convert -q writes the file and prints nothing")
    func quietConvert() throws {
        let folder = TemporaryFolder()
        let result = try weightkit("convert", "fixtures/tiny-llama/model.safetensors", folder.file("out.safetensors"), "--dtype", "f16", "-q")
        #expect(result.status == 0 && result.stderr.isEmpty && result.stdout.isEmpty)
        #expect(FileManager.default.fileExists(atPath: folder.file("out.safetensors")))
    }

    @Test("every command's help has an overview, examples and the shared flags", arguments: ["inspect", "validate", "convert", "quantize", "generate", "tokenize", "trace", "diff", "perplexity", "bench", "imatrix"])
    func help(command: String) throws {
        let result = try weightkit(command, "--help")
        #expect(result.status == 0)
        #expect(result.stdout.contains("OVERVIEW:") && result.stdout.contains("Examples:"))
        #expect(result.stdout.contains("-q, --quiet") && result.stdout.contains("-v, --verbose"))
        #expect(!result.stdout.contains("\u{1B}"))
    }

    @Test("completion scripts are generated for bash, zsh and fish", arguments: ["bash", "zsh", "fish"])
    func completions(shell: String) throws {
        let result = try weightkit("--generate-completion-script", shell)
        #expect(result.status == 0)
        #expect(result.stdout.contains("weightkit") && result.stdout.contains("inspect") && result.stdout.contains("max-tokens"))
    }
}
