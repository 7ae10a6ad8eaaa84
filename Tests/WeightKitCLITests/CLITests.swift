import ArgumentParser
import Foundation
import Testing
import WeightKitCLI
import WeightKitTestSupport

/// The built `weightkit` binary: stdout, stderr and exit codes.
@Suite("weightkit command line")
struct CLITests {
    static let allDTypes = "fixtures/safetensors/all_dtypes.safetensors"

    @Test("inspect --tensors output is pinned")
    func inspectPinned() throws {
        let result = try weightkit("inspect", Self.allDTypes, "--tensors")
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty)
        let golden = try String(contentsOfFile: fixture("cli/inspect_all_dtypes.txt"), encoding: .utf8)
        #expect(result.stdout == golden)
    }

    @Test("inspect --json reports counts, dtypes, metadata and every tensor")
    func inspectJSON() throws {
        let result = try weightkit("inspect", Self.allDTypes, "--json")
        #expect(result.status == 0)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(root["tensorCount"] as? Int == 18)
        #expect(root["totalElements"] as? Int == 100)
        #expect((root["dtypes"] as? [String: Any])?.count == 15)
        #expect((root["metadata"] as? [String: String])?["format"] == "pt")
        let tensors = try #require(root["tensors"] as? [[String: Any]])
        #expect(tensors.count == 18)
        let u16 = try #require(tensors.first { $0["name"] as? String == "u16" })
        #expect(u16["shape"] as? [Int] == [2, 2] && u16["bytes"] as? Int == 8 && u16["dtype"] as? String == "u16")
    }

    @Test("inspect --stats agrees with numpy's min, max, mean and std")
    func inspectStats() throws {
        let result = try weightkit("inspect", Self.allDTypes, "--stats", "--json")
        #expect(result.status == 0)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let tensors = try #require(root["tensors"] as? [[String: Any]])
        let ours = try #require(tensors.first { $0["name"] as? String == "matrix" }?["stats"] as? [String: Any])
        let reference = try python("""
            import sys, numpy as np
            from safetensors import safe_open
            with safe_open(sys.argv[1], "np") as f: m = f.get_tensor("matrix").astype(np.float64)
            print(m.min(), m.max(), m.mean(), m.std())
            """, [fixture("safetensors/all_dtypes.safetensors")])
        let want = reference.split(separator: " ").map { Double($0.trimmingCharacters(in: .whitespacesAndNewlines))! }
        let got = ["min", "max", "mean", "std"].map { (ours[$0] as! NSNumber).doubleValue }
        for (g, w) in zip(got, want) { #expect(abs(g - w) <= 1e-6 * max(1, abs(w)), "\(g) vs \(w)") }
        let f32 = try #require(tensors.first { $0["name"] as? String == "f32" }?["stats"] as? [String: Any])
        #expect(f32["nan"] as? Int == 1 && f32["inf"] as? Int == 2)
    }

    @Test("a missing input exits 66, a corrupt one 65, with one error line naming the file")
    func exitCodes() throws {
        let missing = try weightkit("inspect", "no/such/file.safetensors")
        #expect(missing.status == 66)
        #expect(missing.stdout.isEmpty)
        #expect(missing.stderr == "weightkit: error: no/such/file.safetensors: cannot open: No such file or directory\n")

        let corrupt = try weightkit("inspect", "fixtures/safetensors/malformed/offsets_gap.safetensors")
        #expect(corrupt.status == 65)
        #expect(corrupt.stderr.split(separator: "\n").count == 1)
        #expect(corrupt.stderr.contains("offsets_gap.safetensors @ byte 62, tensor \"b\": data_offsets start at 9"))

        let usage = try weightkit("convert", Self.allDTypes, "/tmp/x.safetensors", "--dtype", "f12")
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("--dtype must be f32, f16 or bf16"))

        let unwritable = try weightkit("convert", Self.allDTypes, "/nonexistent-folder/out.safetensors")
        #expect(unwritable.status == 74)
        #expect(unwritable.stderr.contains("cannot write"))
    }

    @Test("--version and --help work")
    func versionAndHelp() throws {
        let version = try weightkit("--version")
        #expect(version.status == 0 && version.stdout == "\(WeightKitCommand.version)\n")
        for command in ["inspect", "convert"] {
            let help = try weightkit(command, "--help")
            #expect(help.status == 0)
            #expect(help.stdout.contains("Examples:"))
        }
    }

    @Test("convert --dtype f16 writes what numpy's astype gives, integers untouched, progress off a terminal")
    func convertF16() throws {
        let dir = TemporaryFolder()
        let out = dir.file("half.safetensors")
        let result = try weightkit("convert", Self.allDTypes, out, "--dtype", "f16")
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("wrote \(out): 18 tensors"))
        #expect(!result.stderr.contains("\u{1B}["), "no progress escapes when stderr is not a terminal")
        let check = try python("""
            import sys, numpy as np
            from safetensors import safe_open
            a = safe_open(sys.argv[1], "np"); b = safe_open(sys.argv[2], "np")
            ok = all((a.get_tensor(k).astype(np.float16).view(np.uint16) == b.get_tensor(k).view(np.uint16)).all() for k in ["matrix", "scalar"])
            ok = ok and b.get_tensor("i64").dtype == np.int64 and (a.get_tensor("i64") == b.get_tensor("i64")).all()
            print(ok)
            """, [fixture("safetensors/all_dtypes.safetensors"), out])
        #expect(check.trimmingCharacters(in: .whitespacesAndNewlines) == "True")
    }

    @Test("convert a model folder to a sharded folder: shards, index, config with the new torch_dtype")
    func convertFolder() throws {
        let dir = TemporaryFolder()
        let model = dir.file("model")
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture("safetensors/all_dtypes.safetensors"), toPath: model + "/model.safetensors")
        try #"{"model_type": "llama", "hidden_size": 8, "torch_dtype": "float32"}"#.write(toFile: model + "/config.json", atomically: true, encoding: .utf8)
        try #"{"version": "1.0"}"#.write(toFile: model + "/tokenizer.json", atomically: true, encoding: .utf8)
        let out = dir.file("out") + "/"
        let result = try weightkit("convert", model, out, "--dtype", "bf16", "--shard-size", "100")
        #expect(result.status == 0, "\(result.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files.contains("model.safetensors.index.json") && files.contains("tokenizer.json"))
        #expect(files.filter { $0.hasSuffix(".safetensors") }.count > 1)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "config.json"))) as! [String: Any]
        #expect(config["torch_dtype"] as? String == "bfloat16")
        #expect(config["hidden_size"] as? Int == 8)
        let inspect = try weightkit("inspect", out, "--json")
        let root = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [String: Any]
        #expect(root["tensorCount"] as? Int == 18)
        #expect((root["config"] as? [String: Any])?["model_type"] as? String == "llama")
    }

    @Test("flag combinations are checked before anything runs", arguments: [
        ["convert", "a.safetensors", "b"],
        ["convert", "a.safetensors", "b.safetensors", "--to", "xml"],
        ["convert", "a.safetensors", "b.safetensors", "--shard-size", "lots"],
        ["inspect", "a", "--format", "pickle"],
    ])
    func usageErrors(arguments: [String]) {
        #expect(throws: (any Error).self) { _ = try WeightKitCommand.parseAsRoot(arguments) }
    }
}
