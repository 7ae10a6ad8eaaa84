import Foundation
import Testing
import WeightKitTestSupport

/// `convert --split-max-tensors N`: GGUF shards of at most N tensors, as llama-gguf-split cuts them.
@Suite("convert --split-max-tensors")
struct GGUFSplitMaxTensorsCLITests {
    static let tiny = fixture("gguf/tiny_llama.gguf")

    @Test("writes the shards llama-gguf-split writes (tensor grouping, metadata); convert of a shard merges them back")
    func splitAndMerge() throws {
        let folder = TemporaryFolder()
        let result = try weightkit("convert", Self.tiny, folder.file("tiny_llama.gguf"), "--split-max-tensors", "8")
        #expect(result.status == 0, "\(result.stderr)")
        let ours = (1...3).map { folder.file("tiny_llama-0000\($0)-of-00003.gguf") }
        let its = (1...3).map { fixture("gguf/split/tiny_llama-0000\($0)-of-00003.gguf") }
        // Shards 2 and 3 hold only split keys and tensors: equal byte for byte. The first differs
        // only by the general.quantization_version every GGUF we write with blocks carries.
        #expect(try readBytes(ours[1]) == readBytes(its[1]) && readBytes(ours[2]) == readBytes(its[2]))
        for (a, b) in zip(ours, its) {
            #expect(try python(compareGGUFSets, [b, a, addedByUs]) == "same\n", "\(a)")
        }
        #expect(try python(compareGGUFSets, [Self.tiny, ours.joined(separator: ","), addedByUs]) == "same\n")
        let merged = folder.file("merged.gguf"), single = folder.file("single.gguf")
        #expect(try weightkit("convert", ours[2], merged, "-q").status == 0)
        #expect(try weightkit("convert", Self.tiny, single, "-q").status == 0)
        #expect(try readBytes(merged) == readBytes(single))
    }

    @Test("refused: 0 tensors, together with --shard-size, output other than GGUF")
    func refused() throws {
        let folder = TemporaryFolder()
        let zero = try weightkit("convert", Self.tiny, folder.file("a.gguf"), "--split-max-tensors", "0")
        #expect(zero.status == 64 && zero.stderr.contains("--split-max-tensors must be at least 1"), "\(zero.stderr)")
        let both = try weightkit("convert", Self.tiny, folder.file("a.gguf"), "--split-max-tensors", "4", "--shard-size", "20KB")
        #expect(both.status == 64 && both.stderr.contains("cannot be combined"), "\(both.stderr)")
        let pack = try weightkit("convert", Self.tiny, folder.file("a.wkp"), "--split-max-tensors", "4")
        #expect(pack.status != 0 && pack.stderr.contains("GGUF output only"), "\(pack.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }
}

/// Against llama.cpp's own llama-gguf-split (WEIGHTKIT_LLAMA_GGUF_SPLIT, set by scripts/test.sh
/// when it is built): the same shard files byte for byte, by tensor count and for a tensor larger
/// than the shard size.
@Suite("--split-max-tensors and oversized tensors against llama-gguf-split", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_LLAMA_GGUF_SPLIT"] != nil,
                "WEIGHTKIT_LLAMA_GGUF_SPLIT is not set: scripts/test.sh sets it when Benchmarks/llama-cpp/build.sh has built llama-gguf-split"))
struct LlamaGGUFSplitMaxTensorsTests {
    static let tool = ProcessInfo.processInfo.environment["WEIGHTKIT_LLAMA_GGUF_SPLIT"] ?? ""

    static func files(_ folder: TemporaryFolder, _ prefix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(prefix + "-") }.sorted().map(folder.file)
    }

    @Test("--split-max-tensors N: our shards are its shards byte for byte", arguments: [1, 5, 8, 20])
    func sameFiles(maxTensors: Int) throws {
        let folder = TemporaryFolder()
        // A GGUF we wrote (general.quantization_version included), so both tools start from one file.
        let input = folder.file("in.gguf")
        #expect(try weightkit("convert", fixture("gguf/tiny_llama.gguf"), input, "-q").status == 0)
        let split = try run(Self.tool, ["--split", "--split-max-tensors", String(maxTensors), input, folder.file("its")])
        try #require(split.status == 0, "\(split.stdout)\(split.stderr)")
        let result = try weightkit("convert", input, folder.file("ours.gguf"), "--split-max-tensors", String(maxTensors), "-q")
        #expect(result.status == 0, "\(result.stderr)")
        let its = try Self.files(folder, "its"), ours = try Self.files(folder, "ours")
        #expect(its.count == (21 + maxTensors - 1) / maxTensors && ours.count == its.count)
        for (a, b) in zip(ours, its) {
            #expect(try readBytes(a) == readBytes(b), "\(a) vs \(b)")
        }
    }

    /// A GGUF (gguf-py) of f32 tensors of `sizes` kB (multiples of 32 bytes) in that order.
    static func sizedGGUF(_ path: String, _ sizes: [Int]) throws {
        _ = try python("""
            import sys, numpy as np, gguf
            w = gguf.GGUFWriter(sys.argv[1], "llama")
            for i, kb in enumerate(sys.argv[2].split(",")):
                w.add_tensor(f"t{i}.weight", np.full(int(kb) * 250, i, dtype=np.float32))
            w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
            """, [path, sizes.map(String.init).joined(separator: ",")])
    }

    @Test("a tensor larger than the shard size: after the first, its own shard as llama-gguf-split writes it; first, llama-gguf-split refuses and we write the same own shard, with a warning")
    func overSize() throws {
        let folder = TemporaryFolder()
        let middle = folder.file("middle.gguf")
        try Self.sizedGGUF(middle, [100, 1500, 100, 600, 600])
        let split = try run(Self.tool, ["--split", "--split-max-size", "1M", middle, folder.file("its")])
        try #require(split.status == 0, "\(split.stdout)\(split.stderr)")
        let result = try weightkit("convert", middle, folder.file("ours.gguf"), "--shard-size", "1MB")
        #expect(result.status == 0 && result.stderr.contains("t1.weight"), "\(result.stderr)")
        let its = try Self.files(folder, "its"), ours = try Self.files(folder, "ours")
        #expect(its.count == 4 && ours.count == its.count, "\(its) \(ours)")
        for (a, b) in zip(ours, its) {
            #expect(try readBytes(a) == readBytes(b), "\(a) vs \(b)")
        }

        let first = folder.file("first.gguf")
        try Self.sizedGGUF(first, [1500, 100, 100])
        let refused = try run(Self.tool, ["--split", "--split-max-size", "1M", first, folder.file("x")])
        #expect(refused.status != 0 && (refused.stdout + refused.stderr).contains("0 tensors"), "\(refused.stdout)\(refused.stderr)")
        let ok = try weightkit("convert", first, folder.file("y.gguf"), "--shard-size", "1MB")
        #expect(ok.status == 0 && ok.stderr.contains("exceed the shard size") && ok.stderr.contains("t0.weight"), "\(ok.stderr)")
        let y = try Self.files(folder, "y")
        #expect(y.count == 2)
        // llama-gguf-split merges our set into the file's tensors.
        let merge = try run(Self.tool, ["--merge", y[0], folder.file("merged.gguf")])
        try #require(merge.status == 0, "\(merge.stdout)\(merge.stderr)")
        #expect(try python(compareGGUFSets, [first, folder.file("merged.gguf")]) == "same\n")
    }
}
