import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// Shards of at most N tensors, as `llama-gguf-split --split --split-max-tensors N` cuts them,
/// against the set llama-gguf-split itself wrote from tiny_llama.gguf with N = 8
/// (`fixtures/gguf/split/`, `generate_split.sh`).
@Suite("GGUF shards by tensor count")
struct GGUFSplitMaxTensorsTests {
    static let tiny = fixture("gguf/tiny_llama.gguf")

    @Test("the count rule is llama-gguf-split's should_split: a new shard at every multiple of N")
    func plan() throws {
        let infos = (0..<21).map { TensorInfo(name: "t\($0)", dtype: .uint8, shape: Shape([$0 + 1]), byteCount: $0 + 1) }
        #expect(GGUFWriter.shardPlan(infos, limit: .tensors(8)) == [0..<8, 8..<16, 16..<21])
        #expect(GGUFWriter.shardPlan(infos, limit: .tensors(7)) == [0..<7, 7..<14, 14..<21])
        #expect(GGUFWriter.shardPlan(infos, limit: .tensors(1)).count == 21)
        #expect(GGUFWriter.shardPlan(infos, limit: .tensors(21)) == [0..<21])
        #expect(GGUFWriter.shardPlan(infos, limit: .tensors(100)) == [0..<21])
        #expect(GGUFWriter.outputPaths(for: infos, path: "/x/m.gguf", limit: .tensors(100)) == ["/x/m.gguf"])
        #expect(GGUFWriter.outputPaths(for: infos, path: "/x/m.gguf", limit: .tensors(10)).last == "/x/m-00003-of-00003.gguf")
        // One mode at a time, and at least one tensor per shard.
        var both = WriteOptions(shardSize: 64)
        both.shardMaxTensors = 2
        #expect(throws: FormatError.self) { _ = try GGUFShardLimit(both) }
        var zero = WriteOptions()
        zero.shardMaxTensors = 0
        #expect(throws: FormatError.self) { _ = try GGUFShardLimit(zero) }
        #expect(try GGUFShardLimit(WriteOptions()) == nil)
    }

    @Test("tiny_llama.gguf written with shardMaxTensors 8 is llama-gguf-split's set byte for byte; it reads back as the file")
    func sameAsLlamaGGUFSplit() throws {
        let folder = TemporaryFolder()
        let original = try GGUFFile(path: Self.tiny)
        var options = WriteOptions()
        options.shardMaxTensors = 8
        let report = try GGUFWriter.write(
            original.tensors.map { try TensorPayload(source: original, input: $0) },
            typedMetadata: original.typedMetadata.map { ($0.key, $0.value) }, to: folder.file("tiny_llama.gguf"), options: options)
        let names = (1...3).map { "tiny_llama-0000\($0)-of-00003.gguf" }
        #expect(report.files == names.map(folder.file))
        for name in names {
            // Split keys (split.no u16, split.count u16, split.tensors.count i32, in its order),
            // the tensors of each shard, metadata only in the first: the whole files are equal.
            #expect(try readBytes(folder.file(name)) == readBytes(fixture("gguf/split/" + name)), "\(name)")
        }
        let merged = try GGUFFile(path: folder.file(names[1]))
        #expect(merged.tensors.count == 21 && merged.files.count == 3)
        for t in original.tensors {
            let u = try #require(merged.tensor(named: t.name))
            #expect(try original.storage(of: t).bytes == merged.storage(of: u).bytes, "\(t.name)")
        }
    }

    @Test("other formats refuse shards by tensor count")
    func onlyGGUF() throws {
        let folder = TemporaryFolder()
        let original = try GGUFFile(path: Self.tiny)
        var options = WriteOptions()
        options.shardMaxTensors = 8
        #expect(throws: FormatError.self) {
            _ = try FormatRegistry.write(
                [try TensorPayload(source: original, input: original.tensors[1])], metadata: Metadata(), to: folder.file("x.safetensors"),
                format: .safetensors, options: options)
        }
    }
}
