import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// `weightkit quantize model.wkp OUT --type MIX`: a pack written by `weightkit convert FOLDER
/// out.wkp` carries the folder's config, so its Hugging Face names are mapped to GGUF tensors as
/// the folder's are, and the output is what the folder gives.
@Suite("weightkit quantize PACK --type MIX")
struct QuantizePackMixCLITests {
    /// `fixtures/models/<family>` packed into `tmp`.
    static func pack(_ family: String, in tmp: TemporaryFolder) throws -> String {
        let pack = tmp.file("\(family).wkp")
        let result = try weightkit("convert", fixture("models/\(family)"), pack)
        #expect(result.status == 0, "\(result.stderr)")
        return pack
    }

    @Test("folder → .wkp → .gguf under a mix: the file folder → .gguf writes, byte for byte", arguments: ["llama3", "mixtral"], ["q4_k_m", "q3_k_s"])
    func packToGGUF(family: String, mix: String) throws {
        let tmp = TemporaryFolder()
        let pack = try Self.pack(family, in: tmp)
        let fromPack = tmp.file("pack.gguf"), fromFolder = tmp.file("folder.gguf")
        let a = try weightkit("quantize", pack, fromPack, "--type", mix)
        #expect(a.status == 0, "\(a.stderr)")
        let b = try weightkit("quantize", fixture("models/\(family)"), fromFolder, "--type", mix)
        #expect(b.status == 0, "\(b.stderr)")
        let bad = try QuantizeImportanceCLITests.differences(fromPack, fromFolder)
        #expect(bad.isEmpty, "\(family) \(mix): \(bad.prefix(5))")
        // The tiny fixtures' tokenizers come from tokenizer.json alone, which the pack carries: the whole file matches.
        #expect(try readBytes(fromPack) == (try readBytes(fromFolder)))
    }

    @Test("pack → .gguf: every tensor as llama-quantize writes it from llama.cpp's own GGUF (mixtral Q4_K_M, committed)")
    func packAgainstLlamaQuantize() throws {
        let tmp = TemporaryFolder()
        let pack = try Self.pack("mixtral", in: tmp)
        let ours = tmp.file("ours.gguf")
        let result = try weightkit("quantize", pack, ours, "--type", "q4_k_m")
        #expect(result.status == 0, "\(result.stderr)")
        let bad = try QuantizeImportanceCLITests.differences(ours, fixture("quant/mixes/files/mixtral-q4_k_m.gguf"))
        #expect(bad.isEmpty, "\(bad.prefix(5))")
    }

    @Test("pack → .wkp under a mix: every tensor (Hugging Face names) as folder → .wkp gives it")
    func packToPack() throws {
        let tmp = TemporaryFolder()
        let pack = try Self.pack("mixtral", in: tmp)
        let fromPack = tmp.file("p.wkp"), fromFolder = tmp.file("f.wkp")
        #expect(try weightkit("quantize", pack, fromPack, "--type", "q4_k_m").status == 0)
        #expect(try weightkit("quantize", fixture("models/mixtral"), fromFolder, "--type", "q4_k_m").status == 0)
        let a = try FormatRegistry.open(path: fromPack), b = try FormatRegistry.open(path: fromFolder)
        #expect(a.tensors.map(\.name).sorted() == b.tensors.map(\.name).sorted())
        #expect(a.tensors.contains { $0.name == "model.layers.1.block_sparse_moe.experts.3.w2.weight" && $0.dtype.isQuantized })
        for t in b.tensors {
            let mine = try #require(a.tensor(named: t.name))
            let same = try a.storage(of: mine).bytes == b.storage(of: t).bytes
            #expect(mine.dtype == t.dtype && same, "\(t.name)")
        }
    }

    @Test("pack → .gguf with a plain type and --imatrix: llama-quantize --pure --imatrix's tensors")
    func packWithImportance() throws {
        let tmp = TemporaryFolder()
        let pack = try Self.pack("mixtral", in: tmp)
        let ours = tmp.file("ours.gguf")
        let result = try weightkit("quantize", pack, ours, "--type", "q4_1", "--imatrix", fixture("quant/imatrix/mixtral.imatrix.gguf"))
        #expect(result.status == 0, "\(result.stderr)")
        let bad = try QuantizeImportanceCLITests.differences(ours, fixture("quant/imatrix/legacy/mixtral-q4_1.gguf"))
        #expect(bad.isEmpty, "\(bad.prefix(5))")
    }

    @Test("a pack without a config (from a lone safetensors file) is refused under a mix, naming what is missing")
    func packWithoutConfig() throws {
        let tmp = TemporaryFolder()
        let bare = tmp.file("bare.wkp")
        #expect(try weightkit("convert", fixture("models/llama3/model.safetensors"), bare).status == 0)
        for out in ["o.gguf", "o.wkp"] {
            let result = try weightkit("quantize", bare, tmp.file(out), "--type", "q4_k_m")
            #expect(result.status != 0)
            #expect(result.stderr.contains("this pack holds no config"), "\(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: tmp.file(out)))
        }
    }
}

/// SmolLM2-135M's F32 GGUF (WEIGHTKIT_KQUANT_MODELS, scripts/lib/deps.sh make_kquant_models) as a
/// Hugging Face folder, then a pack: `weightkit quantize smollm2.wkp --type q4_k_m` against
/// llama-quantize's Q4_K_M of the GGUF, every tensor. (The pack carries no tokenizer_config.json,
/// so the chat template and unknown-token keys are not in the output: tensors only.)
@Suite("Real model: SmolLM2 mix from a pack against llama-quantize", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_MODELS"] != nil))
struct SmolLM2PackMixTests {
    @Test("smollm2-f32.gguf → folder → .wkp → --type q4_k_m: llama-quantize's tensors")
    func packQ4KM() throws {
        let dir = ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_MODELS"]!
        let reference = "\(dir)/smollm2-q4_k_m.gguf"
        try #require(FileManager.default.fileExists(atPath: reference), "\(reference) is missing: scripts/test.sh makes it with llama-quantize")
        let tmp = TemporaryFolder()
        let folder = tmp.file("smollm2/"), pack = tmp.file("smollm2.wkp"), ours = tmp.file("ours.gguf")
        #expect(try weightkit("convert", "\(dir)/smollm2-f32.gguf", folder, "--dtype", "f32", "-q").status == 0)
        #expect(try weightkit("convert", folder, pack, "-q").status == 0)
        let result = try weightkit("quantize", pack, ours, "--type", "q4_k_m", "-q")
        #expect(result.status == 0, "\(result.stderr)")
        let bad = try QuantizeImportanceCLITests.differences(ours, reference)
        #expect(bad.isEmpty, "\(bad.count) differ: \(bad.prefix(5))")
    }
}
