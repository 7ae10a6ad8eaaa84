import Testing
import WeightKitCore
import WeightKitTestSupport

/// Never losing data: outputs appear complete or not at all (even under SIGKILL), an input is
/// never its own output (same path or same inode), and existing outputs need `--force`.
@Suite("Data safety", .serialized)
struct DataSafetyTests {
    /// Writes a small safetensors file.
    static func makeInput(_ path: String) throws {
        _ = try python("""
            import sys, numpy as np
            from safetensors.numpy import save_file
            save_file({"w": np.arange(12, dtype=np.float32).reshape(3, 4)}, sys.argv[1])
            """, [path])
    }

    @Test("convert refuses an existing output without --force and overwrites it with --force")
    func force() throws {
        let folder = TemporaryFolder()
        let input = folder.file("in.safetensors"), output = folder.file("out.safetensors")
        try Self.makeInput(input)
        try writeBytes(Array("precious".utf8), to: output)
        let refused = try weightkit("convert", input, output, "--dtype", "f16")
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("already exists") && refused.stderr.contains("--force"))
        #expect(try readBytes(output) == Array("precious".utf8))
        let forced = try weightkit("convert", input, output, "--dtype", "f16", "--force")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try python("""
            import sys
            from safetensors.numpy import load_file
            print(load_file(sys.argv[1])["w"].dtype)
            """, [output]) == "float16\n")
    }

    @Test("convert refuses to write over its input: same path, a hard link, a symlink (even with --force)")
    func inputIsOutput() throws {
        let folder = TemporaryFolder()
        let input = folder.file("in.safetensors")
        try Self.makeInput(input)
        let original = try readBytes(input)
        _ = try run("/bin/ln", [input, folder.file("hard.safetensors")])
        _ = try run("/bin/ln", ["-s", input, folder.file("soft.safetensors")])
        for output in [input, folder.file("hard.safetensors"), folder.file("soft.safetensors"), folder.path + "/./in.safetensors"] {
            let result = try weightkit("convert", input, output, "--dtype", "f16", "--force")
            #expect(result.status == 64, "\(output): \(result.stderr)")
            #expect(result.stderr.contains("is the input"), "\(output): \(result.stderr)")
            #expect(try readBytes(input) == original)
        }
    }

    /// 12 MB of f32 to f16: about 2 s in a debug build (the conversion dominates), so the kills
    /// land while tensors are being written; the release benchmark file is 1 GB.
    @Test("SIGKILL at 20 random moments of a large convert leaves the target absent or complete and valid")
    func killedConvert() throws {
        let folder = TemporaryFolder()
        let report = try python("""
            import os, random, signal, subprocess, sys, time
            import numpy as np
            from safetensors.numpy import load_file, save_file
            wk, d = sys.argv[1], sys.argv[2]
            src, out = os.path.join(d, "in.safetensors"), os.path.join(d, "out.safetensors")
            rng = np.random.default_rng(1)
            save_file({f"t{i}": rng.standard_normal((256, 1024), dtype=np.float32) for i in range(12)}, src)
            expected = {k: v.astype(np.float16) for k, v in load_file(src).items()}
            cmd = [wk, "convert", src, out, "--dtype", "f16", "--force"]
            t0 = time.monotonic(); subprocess.run(cmd, check=True, capture_output=True); full = time.monotonic() - t0
            os.remove(out)
            random.seed(7)
            killed = absent = complete = bad = 0
            for i in range(20):
                if i % 3 == 0 and os.path.exists(out): os.remove(out)
                p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(random.uniform(0, full))
                p.send_signal(signal.SIGKILL)
                killed += p.wait() == -signal.SIGKILL
                if not os.path.exists(out):
                    absent += 1
                    continue
                try:
                    got = load_file(out)
                    ok = got.keys() == expected.keys() and all((got[k].view("u2") == expected[k].view("u2")).all() for k in got)
                except Exception:
                    ok = False
                complete += ok
                bad += not ok
            print(killed, absent, complete, bad)
            """, [weightkitBinary, folder.path])
        let counts = report.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        try #require(counts.count == 4, "\(report)")
        #expect(counts[3] == 0, "killed, absent, complete, bad = \(counts)")
        #expect(counts[0] >= 10, "most runs must really be killed mid-way: \(counts)")
        #expect(counts[1] + counts[2] == 20)
    }
}
