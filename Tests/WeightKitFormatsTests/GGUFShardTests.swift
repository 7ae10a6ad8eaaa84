import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// llama-gguf-split shard sets: written by us and read back as one model, the split rule, a set
/// made by llama-gguf-split itself (`fixtures/gguf/split/`, from `generate_split.sh`), and
/// malformed sets built here shard by shard.
@Suite("GGUF shard sets")
struct GGUFShardTests {
    static let tiny = fixture("gguf/tiny_llama.gguf")

    /// tiny_llama.gguf's tensors as payloads.
    static func payloads(_ file: GGUFFile) throws -> [TensorPayload] {
        try file.tensors.map { try TensorPayload(source: file, input: $0) }
    }

    /// Every tensor of `a` equals its namesake in `b` (name order, dtype, shape, bytes); same count.
    static func expectSameTensors(_ a: GGUFFile, _ b: GGUFFile, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(a.tensors.map(\.name) == b.tensors.map(\.name), sourceLocation: sourceLocation)
        for t in a.tensors {
            let u = try #require(b.tensor(named: t.name), sourceLocation: sourceLocation)
            #expect(t.dtype == u.dtype && t.shape == u.shape, "\(t.name)", sourceLocation: sourceLocation)
            #expect(try a.storage(of: t).bytes == b.storage(of: u).bytes, "\(t.name)", sourceLocation: sourceLocation)
        }
    }

    @Test("the split rule is llama-gguf-split's: 32-byte padded sizes, a new shard when the next tensor would pass the limit")
    func plan() {
        func infos(_ sizes: [Int]) -> [TensorInfo] {
            sizes.enumerated().map { TensorInfo(name: "t\($0.offset)", dtype: .uint8, shape: Shape([$0.element]), byteCount: $0.element) }
        }
        // padded: 32, 32, 64, 64 → 64 fits [0, 1]; 2 starts a shard; 3 would make 128.
        #expect(GGUFWriter.shardPlan(infos([10, 30, 40, 64]), maxBytes: 64) == [0..<2, 2..<3, 3..<4])
        // A tensor over the limit gets a shard of its own, wherever it is.
        #expect(GGUFWriter.shardPlan(infos([100, 1, 1]), maxBytes: 64) == [0..<1, 1..<3])
        #expect(GGUFWriter.shardPlan(infos([1, 100, 1]), maxBytes: 64) == [0..<1, 1..<2, 2..<3])
        // Exactly at the limit stays in the shard.
        #expect(GGUFWriter.shardPlan(infos([32, 32]), maxBytes: 64) == [0..<2])
        #expect(GGUFWriter.shardPlan([], maxBytes: 64) == [0..<0])
        #expect(GGUFWriter.outputPaths(for: infos([10, 30, 40, 64]), path: "/x/m.gguf", shardSize: 64)
            == ["/x/m-00001-of-00003.gguf", "/x/m-00002-of-00003.gguf", "/x/m-00003-of-00003.gguf"])
        #expect(GGUFWriter.outputPaths(for: infos([10, 30]), path: "/x/m.gguf", shardSize: 64) == ["/x/m.gguf"])
        #expect(GGUFFile.shardPrefix(of: "/x/m-00002-of-00003.gguf", index: 1, count: 3) == "/x/m")
        #expect(GGUFFile.shardPrefix(of: "/x/m-00002-of-00003.gguf", index: 0, count: 3) == nil)
        #expect(GGUFFile.shardPrefix(of: "-00001-of-00001.gguf", index: 0, count: 1) == nil)
    }

    @Test("a set we write reads back as the unsharded file, from any of its shards")
    func roundTrip() throws {
        let folder = TemporaryFolder()
        let original = try GGUFFile(path: Self.tiny)
        let report = try GGUFWriter.write(
            Self.payloads(original), typedMetadata: original.typedMetadata.map { ($0.key, $0.value) }, to: folder.file("m.gguf"),
            options: WriteOptions(shardSize: 20_000))
        let names = (1...3).map { folder.file("m-0000\($0)-of-00003.gguf") }
        #expect(report.files == names)
        #expect(!FileManager.default.fileExists(atPath: folder.file("m.gguf")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == names.map { String($0.split(separator: "/").last!) })
        for name in names {
            let set = try GGUFFile(path: name)
            #expect(set.files == names)
            #expect(set.isShardSet && set.formatName == "gguf (3 shards)")
            #expect(set.metadata == original.metadata)
            #expect(set.typedMetadata.map(\.key) == original.typedMetadata.map(\.key))
            try Self.expectSameTensors(original, set)
        }
        // Each shard alone: the first has all metadata then the split keys, the others only those.
        var total = 0
        for (i, name) in names.enumerated() {
            let shard = try GGUFFile(singleFile: name)
            #expect(!shard.isShardSet)
            let keys = shard.typedMetadata.map(\.key)
            #expect(Array(keys.suffix(3)) == ["split.no", "split.tensors.count", "split.count"])
            #expect(keys.count == (i == 0 ? original.typedMetadata.count + 3 : 3))
            #expect(shard.value("split.no") == .uint16(UInt16(i)))
            #expect(shard.value("split.count") == .uint16(3))
            #expect(shard.value("split.tensors.count") == .int32(21))
            // Data within the limit, counted as llama-gguf-split counts it (padded, no header).
            #expect(shard.tensors.reduce(0) { $0 + ($1.byteCount + 31) / 32 * 32 } <= 20_000)
            total += shard.tensors.count
        }
        #expect(total == original.tensors.count)
    }

    @Test("gguf-py reads each shard we write, split keys typed as llama.cpp writes them (u16, u16, i32)")
    func pythonReadsShards() throws {
        let folder = TemporaryFolder()
        let original = try GGUFFile(path: Self.tiny)
        _ = try GGUFWriter.write(
            Self.payloads(original), typedMetadata: original.typedMetadata.map { ($0.key, $0.value) }, to: folder.file("m.gguf"),
            options: WriteOptions(shardSize: 20_000))
        let out = try python("""
            import sys, gguf
            names = set()
            for i, p in enumerate(sys.argv[1:]):
                r = gguf.GGUFReader(p)
                f = {k: (",".join(t.name for t in r.fields[k].types), r.fields[k].contents()) for k in ("split.no", "split.count", "split.tensors.count")}
                assert f == {"split.no": ("UINT16", i), "split.count": ("UINT16", 3), "split.tensors.count": ("INT32", 21)}, f
                names |= {t.name for t in r.tensors}
            print(len(names))
            """, (1...3).map { folder.file("m-0000\($0)-of-00003.gguf") })
        #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == "21")
    }

    @Test("a set made by llama-gguf-split (committed fixture) reads as tiny_llama.gguf: same tensors, bytes and metadata")
    func llamaSplitFixture() throws {
        let original = try GGUFFile(path: Self.tiny)
        let names = (1...3).map { fixture("gguf/split/tiny_llama-0000\($0)-of-00003.gguf") }
        for name in names {
            let set = try GGUFFile(path: name)
            #expect(set.files == names)
            #expect(set.metadata == original.metadata)
            try Self.expectSameTensors(original, set)
        }
    }

    @Test("split.count 0 (llama-gguf-split's merged output) is a plain file, keys kept; a set of one drops them")
    func plainSplitKeys() throws {
        let folder = TemporaryFolder()
        let original = try GGUFFile(path: Self.tiny)
        let base = original.typedMetadata.map { ($0.key, $0.value) }
        let merged = folder.file("merged.gguf")
        _ = try GGUFWriter.write(
            Self.payloads(original), typedMetadata: base + [("split.no", .uint16(0)), ("split.count", .uint16(0)), ("split.tensors.count", .int32(21))],
            to: merged)
        let plain = try GGUFFile(path: merged)
        #expect(!plain.isShardSet && plain.value("split.count") == .uint16(0))
        let one = folder.file("one-00001-of-00001.gguf")
        _ = try GGUFWriter.write(
            Self.payloads(original), typedMetadata: base + [("split.no", .uint16(0)), ("split.count", .uint16(1)), ("split.tensors.count", .int32(21))],
            to: one)
        let single = try GGUFFile(path: one)
        #expect(!single.isShardSet && single.metadata == original.metadata)
        // Renamed, a set of one is still the whole model.
        let renamed = folder.file("renamed.gguf")
        try FileManager.default.moveItem(atPath: one, toPath: renamed)
        #expect(try GGUFFile(path: renamed).metadata == original.metadata)
    }

    // MARK: malformed sets

    /// Writes shard files of tiny_llama.gguf's tensors: each entry names its file, its tensor
    /// range and its split keys (nil leaves a key out).
    static func writeSet(
        in folder: TemporaryFolder, _ shards: [(name: String, tensors: Range<Int>, no: Int?, count: Int?, total: Int?)]
    ) throws -> [String] {
        let original = try GGUFFile(path: tiny)
        let payloads = try payloads(original)
        return try shards.enumerated().map { i, shard in
            var kvs: [(String, GGUFValue)] = i == 0 ? original.typedMetadata.map { ($0.key, $0.value) } : []
            if let no = shard.no { kvs.append(("split.no", .uint16(UInt16(no)))) }
            if let count = shard.count { kvs.append(("split.count", .uint16(UInt16(count)))) }
            if let total = shard.total { kvs.append(("split.tensors.count", .int32(Int32(total)))) }
            let path = folder.file(shard.name)
            _ = try GGUFWriter.write(Array(payloads[shard.tensors]), typedMetadata: kvs, to: path)
            return path
        }
    }

    static let a = "m-00001-of-00002.gguf", b = "m-00002-of-00002.gguf"

    /// A malformed set, the file opened, the error kind, the file the error names and words its message holds.
    static let malformed: [(label: String, shards: [(name: String, tensors: Range<Int>, no: Int?, count: Int?, total: Int?)],
                            open: Int, kind: FormatError.Kind, at: Int, says: [String])] = [
        ("missing shard", [(a, 0..<21, 0, 2, 21)], 0, .truncated, 0, ["shard 2 of 2 is missing", "m-00002-of-00002.gguf"]),
        ("split.count disagrees", [(a, 0..<10, 0, 2, 21), (b, 10..<21, 1, 3, 21)], 0, .invalidHeader, 1, ["split.count is 3, expected 2"]),
        ("split.no out of place", [(a, 0..<10, 0, 2, 21), (b, 10..<21, 0, 2, 21)], 0, .invalidHeader, 1, ["split.no is 0, expected 1"]),
        ("split.no missing", [(a, 0..<10, 0, 2, 21), (b, 10..<21, nil, 2, 21)], 0, .invalidHeader, 1, ["split.no is missing"]),
        ("split.no past split.count", [(a, 0..<10, 5, 2, 21)], 0, .invalidHeader, 0, ["split.no is 5, expected below split.count 2"]),
        ("tensor total differs", [(a, 0..<10, 0, 2, 21), (b, 10..<20, 1, 2, 21)], 1, .invalidHeader, 0, ["split.tensors.count is 21", "hold 20"]),
        ("tensors count missing", [(a, 0..<10, 0, 2, nil), (b, 10..<21, 1, 2, 21)], 0, .invalidHeader, 0, ["split.tensors.count is missing"]),
        ("a tensor in two shards", [(a, 0..<12, 0, 2, 21), (b, 10..<21, 1, 2, 21)], 0, .duplicateName, 1, ["also in", "two models"]),
        ("not named as a shard", [("m.gguf", 0..<21, 0, 2, 21)], 0, .invalidHeader, 0, ["PREFIX-00001-of-00002.gguf"]),
        ("a set of one whose count is wrong", [("m.gguf", 0..<20, 0, 1, 21)], 0, .invalidHeader, 0, ["split.tensors.count is 21", "hold 20"]),
        ("named as the wrong shard", [(b, 0..<21, 0, 2, 21)], 0, .invalidHeader, 0, ["PREFIX-00001-of-00002.gguf"]),
    ]

    @Test("a malformed set is an error naming the file and what was expected", arguments: malformed.map(\.label))
    func malformedSet(_ label: String) throws {
        let c = try #require(Self.malformed.first { $0.label == label })
        let folder = TemporaryFolder()
        let paths = try Self.writeSet(in: folder, c.shards)
        let error = try #require(throws: FormatError.self) { try GGUFFile(path: paths[c.open]) }
        #expect(error.kind == c.kind, "\(error)")
        #expect(error.path == paths[c.at], "\(error)")
        for words in c.says { #expect(error.description.contains(words), "\(error)") }
        // The shard alone still opens, as stored (for edit).
        #expect(try GGUFFile(singleFile: paths[c.open]).tensors.count == c.shards[c.open].tensors.count)
    }

    @Test("a damaged shard is an error naming that shard, at every truncation of its header")
    func truncatedShard() throws {
        let folder = TemporaryFolder()
        let paths = try Self.writeSet(in: folder, [(Self.a, 0..<10, 0, 2, 21), (Self.b, 10..<21, 1, 2, 21)])
        let whole = try readBytes(paths[1])
        let header = try GGUFFile(singleFile: paths[1]).dataOffset
        for length in stride(from: 0, to: whole.count, by: max(1, whole.count / 97)).map({ $0 }) + Array(0..<header) {
            try writeBytes(Array(whole.prefix(length)), to: paths[1])
            let error = try #require(throws: FormatError.self) { try GGUFFile(path: paths[0]) }
            #expect(error.path == paths[1], "\(length): \(error)")
        }
    }

    @Test("writing a set leaves nothing behind when a tensor fails")
    func atomicWrite() throws {
        let folder = TemporaryFolder()
        let original = try GGUFFile(path: Self.tiny)
        let good = try Self.payloads(original)
        // A dtype GGUF cannot store: refused before any shard is written.
        let int64 = TensorInfo(name: "x", dtype: .int64, shape: Shape([4]), byteCount: 32)
        #expect(throws: FormatError.self) {
            try GGUFWriter.write(
                good + [try TensorPayload(source: FailingSource([int64]), input: int64)], typedMetadata: [], to: folder.file("m.gguf"),
                options: WriteOptions(shardSize: 20_000))
        }
        // A tensor whose read fails in the last shard, after the first two were written.
        let f32 = TensorInfo(name: "x", dtype: .float32, shape: Shape([8]), byteCount: 32)
        let error = try #require(throws: FormatError.self) {
            try GGUFWriter.write(
                good + [try TensorPayload(source: FailingSource([f32]), input: f32)], typedMetadata: [], to: folder.file("m.gguf"),
                options: WriteOptions(shardSize: 20_000))
        }
        #expect(error.kind == .readFailed)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }
}

/// Tensors whose data cannot be read.
final class FailingSource: TensorSource, @unchecked Sendable {
    let formatName = "failing"
    let files: [String] = []
    let tensors: [TensorInfo]
    let metadata = Metadata()

    init(_ tensors: [TensorInfo]) { self.tensors = tensors }

    func storage(of tensor: TensorInfo) throws -> TensorStorage {
        throw FormatError(.readFailed, "this source cannot be read", tensorName: tensor.name)
    }
}
