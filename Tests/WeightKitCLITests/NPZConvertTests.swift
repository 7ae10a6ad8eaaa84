import ArgumentParser
import Foundation
import Testing
@testable import WeightKitCLI
import WeightKitTestSupport

/// `weightkit convert` across safetensors, .npy, .npz and folders of .npy.
@Suite("convert with NumPy formats")
struct NPZConvertTests {
    /// Runs the command in-process (as the binary's entry point would parse it).
    func convert(_ arguments: String...) throws {
        var command = try WeightKitCommand.parseAsRoot(["convert"] + arguments)
        try command.run()
    }

    /// Writes a safetensors file with numpy + safetensors: several dtypes and `__metadata__`.
    func makeSafetensors(_ path: String) throws {
        _ = try python("""
            import sys, numpy as np
            from safetensors.numpy import save_file
            rng = np.random.default_rng(3)
            save_file({
                "embed.weight": rng.standard_normal((16, 8)).astype(np.float32),
                "norm.weight": rng.standard_normal(8).astype(np.float16),
                "ids": np.arange(-5, 5, dtype=np.int64),
                "mask": np.array([True, False, True]),
                "scalar": np.array(3.5, dtype=np.float64),
            }, sys.argv[1], metadata={"format": "pt"})
            """, [path])
    }

    @Test("safetensors → npz → safetensors is bit-identical, stored or compressed")
    func roundTrip() throws {
        let dir = TemporaryFolder()
        let original = dir.file("in.safetensors")
        try makeSafetensors(original)
        for compress in [false, true] {
            let npz = dir.file("mid\(compress).npz"), back = dir.file("back\(compress).safetensors")
            if compress { try convert(original, npz, "--compress") } else { try convert(original, npz) }
            try convert(npz, back)
            // Same tensors and bytes; only __metadata__ is lost (npz cannot hold it).
            let same = try python("""
                import sys
                from safetensors.numpy import load_file
                a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
                print(sorted(a) == sorted(b) and all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and a[k].tobytes() == b[k].tobytes() for k in a))
                """, [original, back])
            #expect(same == "True\n", "compress=\(compress)")
            let numpySees = try python("""
                import sys, numpy as np
                from safetensors.numpy import load_file
                a, z = load_file(sys.argv[1]), np.load(sys.argv[2])
                print(sorted(a) == sorted(z.files) and all(np.array_equal(a[k], z[k]) and a[k].dtype == z[k].dtype for k in a))
                """, [original, npz])
            #expect(numpySees == "True\n")
        }
    }

    @Test("one tensor to .npy needs --tensor; npy → npy-folder → npz works")
    func singleTensorAndFolders() throws {
        let dir = TemporaryFolder()
        let original = dir.file("in.safetensors")
        try makeSafetensors(original)
        #expect(throws: (any Error).self) { try convert(original, dir.file("all.npy")) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("all.npy")))
        try convert(original, dir.file("embed.npy"), "--tensor", "embed.weight")
        let ok = try python("""
            import sys, numpy as np
            from safetensors.numpy import load_file
            print(np.array_equal(np.load(sys.argv[2]), load_file(sys.argv[1])["embed.weight"]))
            """, [original, dir.file("embed.npy")])
        #expect(ok == "True\n")
        try convert(original, dir.file("folder"), "--to", "npy-folder")
        try convert(dir.file("folder"), dir.file("from-folder.npz"))
        try convert(dir.file("from-folder.npz"), dir.file("from-folder.safetensors"))
        let same = try python("""
            import sys
            from safetensors.numpy import load_file
            a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
            print(sorted(a) == sorted(b) and all(a[k].tobytes() == b[k].tobytes() for k in a))
            """, [original, dir.file("from-folder.safetensors")])
        #expect(same == "True\n")
        #expect(throws: (any Error).self) { try convert(original, dir.file("x.npy"), "--tensor", "nope") }
    }

    @Test("the binary warns on stderr about dropped metadata and refuses bf16 → npz with a --dtype hint")
    func binaryMessages() throws {
        let dir = TemporaryFolder()
        let original = dir.file("in.safetensors")
        try makeSafetensors(original)
        let result = try run(weightkitBinary, ["convert", original, dir.file("out.npz")])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("metadata \"format\""))
        let bf16 = try run(weightkitBinary, ["convert", original, dir.file("bf.npz"), "--dtype", "bf16"])
        #expect(bf16.status == 65)
        #expect(bf16.stderr.contains("--dtype f32") && bf16.stderr.contains("--dtype f16"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("bf.npz")))
        let many = try run(weightkitBinary, ["convert", original, dir.file("many.npy")])
        #expect(many.status == 64 && many.stderr.contains("--tensor"))
        let inspect = try run(weightkitBinary, ["inspect", dir.file("out.npz"), "--stats"])
        #expect(inspect.status == 0 && inspect.stdout.contains("embed.weight"))
    }
}
