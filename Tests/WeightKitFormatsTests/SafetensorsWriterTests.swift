import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

@Suite("safetensors writer")
struct SafetensorsWriterTests {
    func payloads(_ source: any TensorSource, dtype: DType? = nil) throws -> [TensorPayload] {
        try source.tensors.map { t in
            try TensorPayload(source: source, input: t, dtype: (dtype != nil && t.dtype.isFloatingPoint) ? dtype : nil)
        }
    }

    @Test("rewriting the reference's file reproduces it byte for byte")
    func byteIdentical() throws {
        let reference = fixture("safetensors/writer_reference.safetensors")
        let source = try SafetensorsFile(path: reference)
        let dir = TemporaryFolder()
        let out = dir.file("ours.safetensors")
        _ = try SafetensorsWriter.write(try payloads(source), metadata: source.metadata, to: out)
        #expect(try readBytes(out) == readBytes(reference))
    }

    @Test("every dtype round-trips write → read with identical bytes")
    func roundTrip() throws {
        let source = try SafetensorsFile(path: fixture("safetensors/all_dtypes.safetensors"))
        let dir = TemporaryFolder()
        let out = dir.file("rt.safetensors")
        _ = try SafetensorsWriter.write(try payloads(source), metadata: source.metadata, to: out)
        let back = try SafetensorsFile(path: out)
        #expect(Set(back.tensors.map(\.name)) == Set(source.tensors.map(\.name)))
        for t in source.tensors {
            let u = try #require(back.tensor(named: t.name))
            #expect(u.dtype == t.dtype && u.shape == t.shape)
            #expect(try back.storage(of: u).bytes == source.storage(of: t).bytes, "\(t.name)")
        }
        #expect(back.metadata == source.metadata)
        #expect(back.header.headerLength % 8 == 0)
    }

    @Test("Python safetensors loads what we write, bit for bit, including bf16 and f8")
    func pythonReadsOurs() throws {
        let source = try SafetensorsFile(path: fixture("safetensors/all_dtypes.safetensors"))
        let dir = TemporaryFolder()
        let out = dir.file("ours.safetensors")
        _ = try SafetensorsWriter.write(try payloads(source), metadata: source.metadata, to: out)
        let script = """
            import sys, json
            from safetensors import safe_open
            with safe_open(sys.argv[1], "np") as f:
                meta = f.metadata()
                names = list(f.keys())
            # bf16/f8 have no numpy dtype: read raw through the reference's deserializer.
            from safetensors import deserialize
            raw = {name: bytes(t["data"]).hex() for name, t in deserialize(open(sys.argv[1], "rb").read())}
            print(json.dumps({"meta": meta, "names": sorted(names), "raw": raw}))
            """
        let result = try JSONSerialization.jsonObject(with: Data(python(script, [out]).utf8)) as! [String: Any]
        #expect(result["meta"] as? [String: String] == Dictionary(uniqueKeysWithValues: source.metadata.stringEntries))
        #expect(result["names"] as? [String] == source.tensors.map(\.name).sorted())
        let raw = result["raw"] as! [String: String]
        for t in source.tensors {
            #expect(raw[t.name] == SafetensorsReaderTests.hex(try source.storage(of: t).bytes), "\(t.name)")
        }
    }

    @Test("a cast to f16 equals numpy's astype(float16) and keeps integer tensors unchanged")
    func castMatchesNumpy() throws {
        let source = try SafetensorsFile(path: fixture("safetensors/all_dtypes.safetensors"))
        let dir = TemporaryFolder()
        let out = dir.file("f16.safetensors")
        _ = try SafetensorsWriter.write(try payloads(source, dtype: .float16), metadata: Metadata(), to: out)
        let script = """
            import sys, numpy as np
            from safetensors import safe_open
            def load(path, keys):
                with safe_open(path, "np") as f:
                    return {k: f.get_tensor(k) for k in keys}
            keys = ["f32", "f64", "matrix", "scalar", "empty", "i64", "u8", "u64", "bool"]
            a = load(sys.argv[1], keys); b = load(sys.argv[2], keys)
            bad = []
            for k in ["f32", "f64", "matrix", "scalar", "empty"]:
                want = a[k].astype(np.float16)
                if b[k].dtype != np.float16 or b[k].shape != want.shape or not (b[k].view(np.uint16) == want.view(np.uint16)).all():
                    if not (np.isnan(want) == np.isnan(b[k])).all() or not (b[k][~np.isnan(b[k])] == want[~np.isnan(want)]).all():
                        bad.append(k)
            for k in ["i64", "u8", "u64", "bool"]:
                if b[k].dtype != a[k].dtype or not (a[k] == b[k]).all(): bad.append(k)
            print(",".join(bad) or "ok")
            """
        #expect(try python(script, [fixture("safetensors/all_dtypes.safetensors"), out]).trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
        let back = try SafetensorsFile(path: out)
        #expect(back.tensor(named: "bf16")?.dtype == .float16)
        #expect(back.tensor(named: "f8_e4m3")?.dtype == .float16)
        #expect(back.tensor(named: "i32")?.dtype == .int32)
    }

    @Test("sharded output: shards under the size limit, an index, read back as one set")
    func sharded() throws {
        let source = try SafetensorsFile(path: fixture("safetensors/all_dtypes.safetensors"))
        let dir = TemporaryFolder()
        let folder = dir.file("model")
        let report = try SafetensorsWriter.writeSharded(
            try payloads(source), metadata: source.metadata, folder: folder, options: WriteOptions(shardSize: 64))
        let shards = report.files.filter { $0.hasSuffix(".safetensors") }
        #expect(shards.count > 2)
        #expect(report.files.last?.hasSuffix("model.safetensors.index.json") == true)
        let back = try FormatRegistry.open(path: folder)
        #expect(back.tensors.count == source.tensors.count)
        for t in source.tensors {
            #expect(try back.storage(named: t.name).bytes == source.storage(of: t).bytes)
        }
        let script = """
            import sys, json, os
            from safetensors import safe_open
            index = json.load(open(os.path.join(sys.argv[1], "model.safetensors.index.json")))
            names = []
            for shard in sorted(set(index["weight_map"].values())):
                with safe_open(os.path.join(sys.argv[1], shard), "np") as f:
                    names += [k for k in f.keys() if index["weight_map"][k] == shard]
            print(len(names), index["metadata"]["total_size"])
            """
        let total = source.tensors.reduce(0) { $0 + $1.byteCount }
        #expect(try python(script, [folder]).trimmingCharacters(in: .whitespacesAndNewlines) == "\(source.tensors.count) \(total)")
    }

    @Test("a failed write leaves no output file behind")
    func noPartialOutput() throws {
        let source = try SafetensorsFile(path: fixture("safetensors/all_dtypes.safetensors"))
        let dir = TemporaryFolder()
        let out = dir.file("bad.safetensors")
        var list = try payloads(source)
        list.append(list[0])  // duplicate name: refused before anything is written
        let error = #expect(throws: FormatError.self) { _ = try SafetensorsWriter.write(list, metadata: Metadata(), to: out) }
        #expect(error?.kind == .duplicateName)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
