#if canImport(Glibc)
import Glibc
#endif
import Testing
import WeightKit
import WeightKitCore
import WeightKitTestSupport

/// `weightkit validate`: findings, exit codes (0 / 65, --strict), JSON, graph checks and
/// SHA-256 manifests, on files written by numpy/safetensors.
@Suite("validate")
struct ValidateTests {
    /// Writes a safetensors file of f32 tensors from Python expressions.
    static func write(_ path: String, _ tensors: [String: String]) throws {
        let body = tensors.map { "\"\($0.key)\": np.asarray(\($0.value), dtype=np.float32)" }.joined(separator: ", ")
        _ = try python("""
            import sys, numpy as np
            from safetensors.numpy import save_file
            save_file({\(body)}, sys.argv[1])
            """, [path])
    }

    @Test("NaN is an error (65); zeros, |x| > 1e4 and ±Inf are warnings (0, or 65 with --strict)")
    func numerics() throws {
        let folder = TemporaryFolder()
        let bad = folder.file("bad.safetensors"), warn = folder.file("warn.safetensors")
        try Self.write(bad, ["w.weight": "[[1, float('nan')], [2, 3]]", "ok.weight": "[[1, 2]]"])
        try Self.write(warn, ["zero.weight": "np.zeros((2, 2))", "big.weight": "[[1e5, 1]]", "mask": "[float('-inf'), 0, 1]"])
        let failed = try weightkit("validate", bad)
        #expect(failed.status == 65)
        #expect(failed.stdout.contains("error [numerics] tensor \"w.weight\": 1 NaN values among 4"))
        #expect(!failed.stdout.contains("ok.weight"))
        let warned = try weightkit("validate", warn)
        #expect(warned.status == 0, "\(warned.stdout)")
        #expect(warned.stdout.contains("OK with warnings"))
        #expect(warned.stdout.contains("tensor \"zero.weight\": all 4 values are zero"))
        #expect(warned.stdout.contains("tensor \"big.weight\": 1 values exceed |x| > 10000.0"))
        #expect(warned.stdout.contains("tensor \"mask\": 1 ±Inf values"))
        #expect(try weightkit("validate", warn, "--strict").status == 65)
    }

    @Test("--for-dtype f16 warns about values beyond 65504, and --json carries every finding")
    func f16Overflow() throws {
        let folder = TemporaryFolder()
        let path = folder.file("m.safetensors")
        try Self.write(path, ["a": "[70000.0, 65504.0, -1e6]"])
        let plain = try weightkit("validate", path, "--json")
        #expect(plain.status == 0)
        let quiet = try #require(try JSON.parse(plain.stdout).object)
        #expect(quiet["status"] == "ok")
        let result = try weightkit("validate", path, "--for-dtype", "f16", "--json")
        let report = try #require(try JSON.parse(result.stdout).object)
        #expect(report["status"] == "warnings")
        let finding = try #require(report["findings"]?.array?.first?.object)
        #expect(finding["check"] == "numerics")
        #expect(finding["tensor"] == "a")
        #expect(finding["message"]?.string?.hasPrefix("2 values exceed f16's largest finite value 65504") == true)
    }

    @Test("graph checks name a missing tensor (error), an extra tensor (warning) and a mis-shaped one")
    func graph() throws {
        let folder = TemporaryFolder()
        for (name, edit) in [
            ("missing", "del t['model.norm.weight']"),
            ("extra", "t['model.extra.weight'] = np.ones((2, 2), np.float32)"),
            ("shape", "t['model.layers.1.mlp.up_proj.weight'] = np.ones((95, 64), np.float32)"),
        ] {
            let model = folder.file(name)
            _ = try python("""
                import sys, os, shutil, numpy as np
                from safetensors.numpy import load_file, save_file
                os.makedirs(sys.argv[2])
                for f in ("config.json", "tokenizer.json"): shutil.copy(os.path.join(sys.argv[1], f), sys.argv[2])
                t = load_file(os.path.join(sys.argv[1], "model.safetensors"))
                \(edit)
                save_file(t, os.path.join(sys.argv[2], "model.safetensors"))
                """, [fixture("models/llama"), model])
        }
        let missing = try weightkit("validate", folder.file("missing"))
        #expect(missing.status == 65)
        #expect(missing.stdout.contains("error [graph] tensor \"model.norm.weight\": missing; expected shape"))
        let extra = try weightkit("validate", folder.file("extra"))
        #expect(extra.status == 0, "\(extra.stdout)")
        #expect(extra.stdout.contains("warning [graph] tensor \"model.extra.weight\": not part of the llama architecture"))
        let shape = try weightkit("validate", folder.file("shape"))
        #expect(shape.status == 65)
        #expect(shape.stdout.contains("tensor \"model.layers.1.mlp.up_proj.weight\""))
        let clean = try weightkit("validate", fixture("models/llama"))
        #expect(clean.status == 0)
        #expect(clean.stdout.contains(": OK (safetensors, llama, 21 tensors"))
    }

    @Test("--hash writes hashlib's per-tensor SHA-256; --check passes on the file and fails after one byte flips")
    func manifest() throws {
        let folder = TemporaryFolder()
        let path = folder.file("m.safetensors"), manifest = folder.file("m.sha256")
        try Self.write(path, ["b": "np.arange(40).reshape(5, 8)", "a": "[1.5, -2.0]"])
        let hashed = try weightkit("validate", path, "--hash", "--hash-output", manifest)
        #expect(hashed.status == 0)
        let expected = try python("""
            import sys, hashlib
            from safetensors.numpy import load_file
            t = load_file(sys.argv[1])
            for name in ("a", "b"): print(hashlib.sha256(t[name].tobytes()).hexdigest() + "  " + name)
            """, [path])
        #expect(String(decoding: try readBytes(manifest), as: UTF8.self) == expected)
        let stdout = try weightkit("validate", path, "--hash")
        #expect(stdout.stdout == expected)
        #expect(try weightkit("validate", path, "--check", manifest).status == 0)
        var bytes = try readBytes(path)
        bytes[bytes.count - 1] ^= 0x40
        try writeBytes(bytes, to: path)
        let damaged = try weightkit("validate", path, "--check", manifest)
        #expect(damaged.status == 65)
        #expect(damaged.stdout.contains("error [manifest] tensor \"b\": SHA-256"))
        #expect(!damaged.stdout.contains("tensor \"a\""))
        try writeBytes(Array("not a manifest\n".utf8), to: manifest)
        #expect(try weightkit("validate", path, "--check", manifest).status == 65)
    }

    /// Copies the tiny llama fixture to `folder/name`, then runs `edit` (Python, with `d` the
    /// new folder, `t` its tensors, `c` its config and `k` its tokenizer.json as dicts).
    static func editedLlama(_ folder: TemporaryFolder, _ name: String, _ edit: String) throws -> String {
        let model = folder.file(name)
        _ = try python("""
            import sys, os, json, numpy as np
            from safetensors.numpy import load_file, save_file
            src, d = sys.argv[1], sys.argv[2]
            os.makedirs(d)
            t = load_file(os.path.join(src, "model.safetensors"))
            c = json.load(open(os.path.join(src, "config.json")))
            k = json.load(open(os.path.join(src, "tokenizer.json")))
            \(edit)
            save_file(t, os.path.join(d, "model.safetensors"))
            json.dump(c, open(os.path.join(d, "config.json"), "w"))
            json.dump(k, open(os.path.join(d, "tokenizer.json"), "w"))
            """, [fixture("models/llama"), model])
        return model
    }

    @Test("every extra tensor is reported from one bind, in file order; past 32 the next one is an error")
    func extraTensors() throws {
        let folder = TemporaryFolder()
        let three = try Self.editedLlama(folder, "three", "t.update({f'extra.{i}.weight': np.ones((2, 2), np.float32) for i in range(3)})")
        let many = try Self.editedLlama(folder, "many", "t.update({f'extra.{i:02}.weight': np.ones(2, np.float32) for i in range(34)})")
        let few = try Validator.validate(path: three).findings.filter { $0.check == .graph }
        #expect(few.map(\.tensorName) == ["extra.0.weight", "extra.1.weight", "extra.2.weight"])
        #expect(few.allSatisfy { $0.severity == .warning && $0.kind == "unexpectedTensor" && $0.message == "not part of the llama architecture" })
        let capped = try Validator.validate(path: many).findings.filter { $0.check == .graph }
        #expect(capped.count == 33)
        #expect(capped.prefix(32).allSatisfy { $0.severity == .warning })
        #expect(capped.prefix(32).map(\.tensorName) == (0..<32).map { $0 < 10 ? "extra.0\($0).weight" : "extra.\($0).weight" })
        let last = try #require(capped.last)
        #expect(last.severity == .error && last.tensorName == "extra.32.weight" && last.message == "tensor is not part of the architecture")
        #expect(try weightkit("validate", three).status == 0)
    }

    @Test("tied embeddings: a stored lm_head equal to the embedding passes, a different one warns")
    func tiedEmbeddings() throws {
        let folder = TemporaryFolder()
        let same = try Self.editedLlama(folder, "same", "c['tie_word_embeddings'] = True; t['lm_head.weight'] = t['model.embed_tokens.weight'].copy()")
        let differs = try Self.editedLlama(folder, "differs", "c['tie_word_embeddings'] = True")
        let ok = try weightkit("validate", same)
        #expect(ok.status == 0)
        #expect(!ok.stdout.contains("tie_word_embeddings"), "\(ok.stdout)")
        let warned = try weightkit("validate", differs)
        #expect(warned.status == 0)
        #expect(warned.stdout.contains("warning [graph] tensor \"lm_head.weight\": tie_word_embeddings is true but lm_head.weight differs from model.embed_tokens.weight"))
        #expect(try weightkit("validate", differs, "--strict").status == 65)
    }

    @Test("a tokenizer with ids past the embedding's rows is an error; a smaller one is a note")
    func vocabularySize() throws {
        let folder = TemporaryFolder()
        let added = "k['added_tokens'] = [{'id': 260, 'content': '<extra>', 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}]"
        let larger = try Self.editedLlama(folder, "larger", added)
        let result = try weightkit("validate", larger, "--json")
        #expect(result.status == 65)
        let report = try #require(try JSON.parse(result.stdout).object)
        let messages = report["findings"]?.array?.compactMap { $0.object?["message"]?.string } ?? []
        #expect(messages.contains { $0.hasPrefix("the tokenizer has 261 tokens but the model's vocabulary (embedding rows) is 256") }, "\(messages)")
        let verbose = try weightkit("validate", fixture("models/llama"), "--verbose")
        #expect(verbose.status == 0)
        #expect(!verbose.stdout.contains("tokenizer has"), "equal sizes need no note: \(verbose.stdout)")
    }

    @Test("a file truncated while being validated is reported (not a SIGBUS) before its next tensor is touched")
    func shrinkingFile() throws {
        let folder = TemporaryFolder()
        let path = folder.file("m.safetensors")
        try Self.write(path, ["a": "np.ones(4096)", "b": "np.ones(4096)", "c": "np.ones(4096)"])
        let result = try Validator.validate(path: path, progress: { done, _ in
            if done == 1 { _ = truncate(path, 64) }
        })
        let finding = try #require(result.findings.first)
        #expect(finding.kind == "truncated")
        #expect(finding.message.contains("shrank while being validated; stopped before reading \"b\""))
        #expect(result.bytesChecked == 4096 * 4)
    }
}
