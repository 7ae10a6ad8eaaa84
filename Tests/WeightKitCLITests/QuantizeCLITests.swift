import Foundation
import Testing
import WeightKitTestSupport

/// `weightkit quantize`, checked with gguf-py: the blocks we write are the ones
/// `gguf.quants.quantize` makes from the same f32 weights.
@Suite("weightkit quantize")
struct QuantizeCLITests {
    static let folder = fixture("tiny-llama")

    /// Compares a quantized GGUF with an f32 GGUF of the same model: tensor by tensor, the type
    /// the policy picks and gguf.quants.quantize's bytes (or the f32 bytes for kept tensors).
    static let compare = """
        import sys, numpy as np, gguf
        from gguf import GGMLQuantizationType as T
        q = {t.name: t for t in gguf.GGUFReader(sys.argv[1]).tensors}
        f = gguf.GGUFReader(sys.argv[2]); want = T[sys.argv[3].upper()]
        assert len(q) == len(f.tensors), (len(q), len(f.tensors))
        quantized = 0
        for t in f.tensors:
            x = np.asarray(t.data, dtype=np.float32).reshape([int(d) for d in reversed(t.shape)])
            kind = T.F32
            if x.ndim == 2 and x.shape[-1] % 32 == 0:
                kind = T.Q8_0 if t.name == "token_embd.weight" else want
            got = q[t.name]
            assert got.tensor_type == kind, (t.name, got.tensor_type, kind)
            expected = gguf.quants.quantize(x, kind) if kind != T.F32 else x
            assert np.asarray(got.data).tobytes() == expected.tobytes(), t.name
            quantized += kind != T.F32
        print(quantized)
        """

    @Test("folder → .gguf: types and bytes equal gguf.quants.quantize of the f32 GGUF", arguments: ["q8_0", "q4_0", "q4_1"])
    func matchesGGUFPy(type: String) throws {
        let tmp = TemporaryFolder()
        let f32 = tmp.file("f32.gguf"), out = tmp.file("\(type).gguf")
        #expect(try weightkit("convert", Self.folder, f32).status == 0)
        let result = try weightkit("quantize", Self.folder, out, "--type", type)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("bits/weight"))
        let checked = try python(Self.compare, [out, f32, type])
        // 4 layers × (q, k, v, o, gate, up) + token_embd; down_proj rows are 176 wide and stay f32.
        #expect(checked.trimmingCharacters(in: .whitespacesAndNewlines) == "25")
    }

    @Test("--json reports per-tensor error, --keep keeps matching tensors in float, .wkp output works")
    func jsonAndKeep() throws {
        let tmp = TemporaryFolder()
        let out = tmp.file("q.wkp")
        let result = try weightkit("quantize", Self.folder, out, "--type", "q4_0", "--keep", "*.mlp.gate_proj.*", "--embeddings", "f16", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        let tensors = json["tensors"] as! [[String: Any]]
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0["name"] as! String, $0) })
        let q = try #require(byName["model.layers.0.self_attn.q_proj.weight"])
        #expect(q["to"] as? String == "q4_0")
        let cosine = try #require(q["cosine"] as? Double), snr = try #require(q["snrDB"] as? Double)
        #expect(cosine > 0.98 && cosine < 1)
        #expect(snr > 10 && snr < 40)
        #expect((q["rmse"] as? Double ?? 0) > 0 && (q["maxAbsError"] as? Double ?? 0) >= (q["rmse"] as? Double ?? 0))
        #expect(byName["model.layers.0.mlp.gate_proj.weight"]?["to"] as? String == "f32")
        #expect(byName["model.embed_tokens.weight"]?["to"] as? String == "f16")
        #expect(byName["model.norm.weight"]?["to"] as? String == "f32")
        let bits = try #require(json["bitsPerWeight"] as? Double)
        #expect(bits > 4.5 && bits < 32)
        let inspect = try weightkit("inspect", out)
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("q4_0"))
    }

    @Test("safetensors and npz outputs are refused with a clear error and no file", arguments: ["out.safetensors", "out.npz"])
    func refusesFormatsWithoutBlocks(name: String) throws {
        let tmp = TemporaryFolder()
        let result = try weightkit("quantize", Self.folder, tmp.file(name), "--type", "q8_0")
        #expect(result.status != 0)
        #expect(result.stderr.contains(".gguf or .wkp"))
        #expect(!FileManager.default.fileExists(atPath: tmp.file(name)))
    }

    @Test("an unknown --type is a usage error")
    func badType() throws {
        // q3_k is a QuantScheme now (its --type wiring, with llama-quantize's mixes, is issue 20 item 2).
        let result = try weightkit("quantize", Self.folder, "/tmp/never.gguf", "--type", "q9_x")
        #expect(result.status == 64)
    }
}

@Suite("weightkit quantize output safety")
struct QuantizeOutputSafetyTests {
    @Test("an existing output is overwritten only with --force; the input is never the output")
    func force() throws {
        let tmp = TemporaryFolder()
        let out = tmp.file("q.wkp")
        #expect(try weightkit("quantize", QuantizeCLITests.folder, out, "--type", "q8_0").status == 0)
        let again = try weightkit("quantize", QuantizeCLITests.folder, out, "--type", "q8_0")
        #expect(again.status == 64, "\(again.stderr)")
        #expect(try weightkit("quantize", QuantizeCLITests.folder, out, "--type", "q4_0", "--force").status == 0)
        let same = try weightkit("quantize", out, out, "--type", "q8_0", "--force")
        #expect(same.status == 64)
    }
}
