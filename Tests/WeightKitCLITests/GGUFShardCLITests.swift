import Foundation
import Testing
import WeightKitTestSupport

/// Python (gguf-py) that prints "same", or what differs, between two GGUF models given as
/// comma-separated file lists: metadata (types and values; `split.*` keys and the keys of an
/// optional third argument left out) of each list's first file, and every tensor's type, shape
/// and raw bytes over all its files.
let compareGGUFSets = """
    import sys, gguf
    ignored = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else set()
    def load(paths):
        meta, tensors = {}, {}
        for i, p in enumerate(paths.split(",")):
            r = gguf.GGUFReader(p)
            if i == 0:
                meta = {k: (tuple(int(t) for t in f.types), repr(f.contents())) for k, f in r.fields.items()
                        if not k.startswith("GGUF.") and not k.startswith("split.") and k not in ignored}
            for t in r.tensors:
                assert t.name not in tensors, t.name
                tensors[t.name] = (int(t.tensor_type), tuple(int(x) for x in t.shape), t.data.tobytes())
        return meta, tensors
    (ma, ta), (mb, tb) = load(sys.argv[1]), load(sys.argv[2])
    diff = sorted(k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k))
    tdiff = sorted(k for k in set(ta) | set(tb) if ta.get(k) != tb.get(k))
    print("same" if not diff and not tdiff else f"metadata {diff[:5]} tensors {tdiff[:5]}")
    """

/// tiny_llama.gguf (written by gguf-py) has no general.quantization_version; every GGUF we write
/// with blocks carries it (2), as llama.cpp's writers do.
let addedByUs = "general.quantization_version"

/// Sharded GGUF through the commands: `convert --shard-size` writes a llama-gguf-split set,
/// `convert` of a shard merges it, and inspect, validate, generate, bench, quantize and edit take
/// a shard set (or one shard) as they take one file.
@Suite("GGUF shard sets through the commands")
struct GGUFShardCLITests {
    static let tiny = fixture("gguf/tiny_llama.gguf")

    /// tiny_llama.gguf written by `convert --shard-size 20KB` into `folder` (3 shards).
    static func shards(in folder: TemporaryFolder) throws -> [String] {
        let result = try weightkit("convert", tiny, folder.file("tiny.gguf"), "--shard-size", "20KB", "-q")
        #expect(result.status == 0, "\(result.stderr)")
        return (1...3).map { folder.file("tiny-0000\($0)-of-00003.gguf") }
    }

    @Test("convert --shard-size writes shards; convert of any shard merges them into the file an unsharded convert writes")
    func splitAndMerge() throws {
        let folder = TemporaryFolder()
        let shards = try Self.shards(in: folder)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == shards.map { ($0 as NSString).lastPathComponent })
        #expect(try python(compareGGUFSets, [Self.tiny, shards.joined(separator: ","), addedByUs]) == "same\n")
        let single = folder.file("single.gguf"), merged = folder.file("merged.gguf")
        #expect(try weightkit("convert", Self.tiny, single, "-q").status == 0)
        let result = try weightkit("convert", shards[1], merged, "-q")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try readBytes(merged) == readBytes(single))
        #expect(try python(compareGGUFSets, [Self.tiny, merged, addedByUs]) == "same\n")
        // An existing shard is not overwritten without --force, and never an input shard.
        let again = try weightkit("convert", Self.tiny, folder.file("tiny.gguf"), "--shard-size", "20KB")
        #expect(again.status != 0 && again.stderr.contains("tiny-00001-of-00003.gguf"), "\(again.stderr)")
        let onto = try weightkit("convert", shards[0], folder.file("tiny.gguf"), "--shard-size", "20KB", "--force")
        #expect(onto.status != 0 && onto.stderr.contains("is the input"), "\(onto.stderr)")
    }

    @Test("inspect says it is a shard set and lists the files; validate passes it")
    func inspectAndValidate() throws {
        let folder = TemporaryFolder()
        let shards = try Self.shards(in: folder)
        let inspect = try weightkit("inspect", shards[0])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("gguf (3 shards)") && inspect.stdout.contains("files       3"), "\(inspect.stdout)")
        #expect(!inspect.stdout.contains("split."), "\(inspect.stdout)")
        let listing = try weightkit("inspect", shards[0], "--tensors")
        let last = try #require(listing.stdout.split(separator: "\n").last { $0.contains("output.weight ") })
        #expect(listing.stdout.contains("file:offset") && last.contains(" 3:"), "\(listing.stdout)")
        let json = try weightkit("inspect", shards[2], "--json")
        #expect(json.stdout.contains("tiny-00003-of-00003.gguf") && json.stdout.contains("\"file\": 2"), "\(json.stdout)")
        let validate = try weightkit("validate", shards[0])
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
        #expect(validate.stdout.contains("21 tensors"), "\(validate.stdout)")
    }

    @Test("a missing shard or shards from two models: validate and inspect fail with exit 65, naming the file")
    func malformed() throws {
        let folder = TemporaryFolder()
        let shards = try Self.shards(in: folder)
        try FileManager.default.removeItem(atPath: shards[1])
        for command in ["validate", "inspect", "generate"] {
            let args = command == "generate" ? [command, shards[0], "--prompt", "hi", "--max-tokens", "1"] : [command, shards[0]]
            let result = try weightkit(args)
            #expect(result.status == 65, "\(command): \(result.stdout)\(result.stderr)")
            #expect((result.stdout + result.stderr).contains("shard 2 of 3 is missing: expected \(shards[1])"), "\(command): \(result.stdout)\(result.stderr)")
        }
        // Shard 2 of another model's set of the same size put in its place.
        let other = TemporaryFolder()
        let otherShards = try Self.shards(in: other)
        try FileManager.default.copyItem(atPath: otherShards[0], toPath: shards[1])
        let result = try weightkit("validate", shards[0])
        #expect(result.status == 65, "\(result.stdout)\(result.stderr)")
        #expect((result.stdout + result.stderr).contains("split.no is 0, expected 1"), "\(result.stdout)\(result.stderr)")
    }

    @Test("generate and bench run a shard set as they run the file")
    func generateAndBench() throws {
        let folder = TemporaryFolder()
        let shards = try Self.shards(in: folder)
        let args = ["--prompt", "hello world", "--max-tokens", "6", "--temperature", "0"]
        let a = try weightkit(["generate", Self.tiny] + args), b = try weightkit(["generate", shards[2]] + args)
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\(b.stderr)")
        #expect(a.stdout == b.stdout && !a.stdout.isEmpty)
        let bench = try weightkit("bench", shards[0], "--prompt", "4", "--generate", "2", "--repetitions", "1", "--threads", "1")
        #expect(bench.status == 0, "\(bench.stderr)")
    }

    @Test("quantize reads a shard set and writes one (--shard-size); convert --shard-size from a Hugging Face folder writes one")
    func quantizeAndFolder() throws {
        let folder = TemporaryFolder()
        let shards = try Self.shards(in: folder)
        let a = folder.file("a.gguf"), b = folder.file("b.gguf")
        #expect(try weightkit("quantize", Self.tiny, a, "--type", "q8_0", "--json").status == 0)
        let result = try weightkit("quantize", shards[0], b, "--type", "q8_0", "--json")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try readBytes(a) == readBytes(b))
        // quantize --shard-size: the shards merge back to the unsharded quantized file.
        let q = try weightkit("quantize", shards[0], folder.file("q.gguf"), "--type", "q8_0", "--shard-size", "20KB", "--json")
        #expect(q.status == 0 && q.stdout.contains("q-00004-of-00004.gguf"), "\(q.stdout)\(q.stderr)")  // 74 kB of q8_0
        #expect(try weightkit("convert", folder.file("q-00004-of-00004.gguf"), folder.file("q.gguf"), "-q").status == 0)
        #expect(try readBytes(folder.file("q.gguf")) == readBytes(a))
        let pack = try weightkit("quantize", Self.tiny, folder.file("p.wkp"), "--type", "q8_0", "--shard-size", "20KB")
        #expect(pack.status != 0 && pack.stderr.contains("cannot be sharded"), "\(pack.stderr)")
        let hf = folder.file("hf") + "/"
        #expect(try weightkit("convert", Self.tiny, hf, "-q").status == 0)
        let fromFolder = try weightkit("convert", hf, folder.file("back.gguf"), "--shard-size", "60KB", "-q")
        #expect(fromFolder.status == 0, "\(fromFolder.stderr)")
        let back = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("back-") }.sorted().map(folder.file)
        #expect(back.count > 2 && back.allSatisfy { $0.hasSuffix(String(format: "-of-%05d.gguf", back.count)) }, "\(back)")
        #expect(try weightkit("convert", hf, folder.file("whole.gguf"), "-q").status == 0)
        #expect(try python(compareGGUFSets, [folder.file("whole.gguf"), back.joined(separator: ",")]) == "same\n")
    }

    @Test("edit on one shard edits that file only, and the set still reads")
    func editShard() throws {
        let folder = TemporaryFolder()
        let shards = try Self.shards(in: folder)
        let before = try readBytes(shards[1])
        let edit = try weightkit("edit", shards[0], "--in-place", "--set", "general.name=renamed")
        #expect(edit.status == 0, "\(edit.stderr)")
        #expect(try readBytes(shards[1]) == before)
        let inspect = try weightkit("inspect", shards[0])
        #expect(inspect.stdout.contains("general.name = renamed") && inspect.stdout.contains("gguf (3 shards)"), "\(inspect.stdout)")
    }
}

/// Both ways with llama.cpp's own `llama-gguf-split` (scripts/test.sh sets
/// WEIGHTKIT_LLAMA_GGUF_SPLIT when Benchmarks/llama-cpp/build.sh has built it; without it the
/// suite is skipped): its shards read by us and merged by `convert`, our shards merged by it.
@Suite("GGUF shard sets against llama-gguf-split", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_LLAMA_GGUF_SPLIT"] != nil,
                "WEIGHTKIT_LLAMA_GGUF_SPLIT is not set: scripts/test.sh sets it when Benchmarks/llama-cpp/build.sh has built llama-gguf-split"))
struct LlamaGGUFSplitTests {
    static let tool = ProcessInfo.processInfo.environment["WEIGHTKIT_LLAMA_GGUF_SPLIT"] ?? ""
    static let smollm2 = ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"]

    /// The shard files in `folder` named PREFIX-*.gguf, sorted.
    static func files(_ folder: TemporaryFolder, _ prefix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(prefix + "-") }.sorted().map(folder.file)
    }

    /// What we read from `path`: its tensors' SHA-256 manifest (`validate --hash`, in order) and
    /// its metadata (`inspect --json`).
    static func readByUs(_ path: String) throws -> (hashes: String, metadata: NSObject?) {
        let hashes = try weightkit("validate", path, "--hash", "--no-numerics")
        #expect(hashes.status == 0, "\(hashes.stderr)")
        let inspect = try weightkit("inspect", path, "--json")
        let root = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any]
        return (hashes.stdout, root?["metadata"] as? NSObject)
    }

    /// Tensor names per shard, as gguf-py reads them.
    static func layout(_ files: [String]) throws -> String {
        try python("""
            import sys, gguf
            for p in sys.argv[1:]: print(" ".join(t.name for t in gguf.GGUFReader(p).tensors))
            """, files)
    }

    @Test("its --split-max-tensors shards read as the file; our merge gives the same tensors and metadata",
          arguments: [1, 7, 20])
    func itsShardsOurMerge(maxTensors: Int) throws {
        let folder = TemporaryFolder()
        let tiny = fixture("gguf/tiny_llama.gguf")
        let split = try run(Self.tool, ["--split", "--split-max-tensors", String(maxTensors), tiny, folder.file("s")])
        try #require(split.status == 0, "\(split.stdout)\(split.stderr)")
        let shards = try Self.files(folder, "s")
        #expect(shards.count == (21 + maxTensors - 1) / maxTensors)
        let merged = folder.file("merged.gguf")
        let result = try weightkit("convert", shards.last!, merged, "-q")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try python(compareGGUFSets, [tiny, merged, addedByUs]) == "same\n")
        #expect(try python(compareGGUFSets, [tiny, shards.joined(separator: ",")]) == "same\n")
        let inspect = try weightkit("inspect", shards[0])
        #expect(inspect.stdout.contains("gguf (\(shards.count) shards)") || shards.count == 1, "\(inspect.stdout)")
        // Read by us from its last shard: the same tensor bytes in the same order, the same metadata.
        let (a, b) = (try Self.readByUs(tiny), try Self.readByUs(shards.last!))
        #expect(a.hashes == b.hashes && a.hashes.split(separator: "\n").count == 21)
        #expect(a.metadata != nil && a.metadata == b.metadata)
    }

    @Test("our --shard-size shards merged by llama-gguf-split --merge give the unsharded file's tensors")
    func ourShardsItsMerge() throws {
        let folder = TemporaryFolder()
        let tiny = fixture("gguf/tiny_llama.gguf")
        #expect(try weightkit("convert", tiny, folder.file("ours.gguf"), "--shard-size", "12KB", "-q").status == 0)
        let shards = try Self.files(folder, "ours")
        #expect(shards.count > 3)
        let merge = try run(Self.tool, ["--merge", shards[0], folder.file("merged.gguf")])
        try #require(merge.status == 0, "\(merge.stdout)\(merge.stderr)")
        #expect(try python(compareGGUFSets, [tiny, folder.file("merged.gguf"), addedByUs]) == "same\n")
    }

    @Test("SmolLM2 135M: --split-max-size 40M and our --shard-size 40MB write the same shards byte for byte; both merge to the file's tensors; llama-simple runs ours")
    func sizeSplitSmolLM2() throws {
        let source = try #require(Self.smollm2, "WEIGHTKIT_SMOLLM2_GGUF is not set (scripts/test.sh fetches the model)")
        let folder = TemporaryFolder()
        let split = try run(Self.tool, ["--split", "--split-max-size", "40M", source, folder.file("its")])
        try #require(split.status == 0, "\(split.stdout)\(split.stderr)")
        #expect(try weightkit("convert", source, folder.file("ours.gguf"), "--shard-size", "40MB", "-q").status == 0)
        let its = try Self.files(folder, "its"), ours = try Self.files(folder, "ours")
        #expect(its.count == 3 && ours.count == its.count)
        #expect(try Self.layout(ours) == Self.layout(its))
        // Byte for byte, metadata and split keys in its order included (SmolLM2's tensors all end
        // on a 32-byte boundary, so no shard ends in the padding it writes and we do not).
        for (a, b) in zip(ours, its) { #expect(try readBytes(a) == readBytes(b), "\(a) vs \(b)") }
        #expect(try python(compareGGUFSets, [source, its.joined(separator: ",")]) == "same\n")
        let merged = folder.file("merged.gguf")
        #expect(try weightkit("convert", its[0], merged, "-q").status == 0)
        #expect(try python(compareGGUFSets, [source, merged]) == "same\n")
        // llama.cpp loads our set as one model (llama-simple is built beside llama-gguf-split).
        let simple = (Self.tool as NSString).deletingLastPathComponent + "/llama-simple"
        if FileManager.default.isExecutableFile(atPath: simple) {
            let run = try run(simple, ["-m", ours[0], "-n", "4", "The capital of France is"])
            #expect(run.status == 0 && run.stdout.contains("The capital of France is Paris."), "\(run.stdout)\(run.stderr.suffix(2000))")
        }
        let theirs = folder.file("theirs.gguf")
        let merge = try run(Self.tool, ["--merge", ours[0], theirs])
        try #require(merge.status == 0, "\(merge.stdout)\(merge.stderr)")
        #expect(try python(compareGGUFSets, [source, theirs]) == "same\n")
    }
}

/// SmolLM2-135M-Instruct's Q4_1 GGUF (WEIGHTKIT_SMOLLM2_GGUF, fetched by scripts/test.sh) split by
/// us, run from its shards and merged back.
@Suite("Real model: SmolLM2 as GGUF shards", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] != nil,
                "WEIGHTKIT_SMOLLM2_GGUF is not set: scripts/test.sh fetches the model"))
struct SmolLM2ShardTests {
    let gguf = ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] ?? ""

    @Test("--shard-size 40MB: three shards that still answer \" Paris.\", merged back into the original file byte for byte")
    func splitRunMerge() throws {
        let folder = TemporaryFolder()
        let split = try weightkit("convert", gguf, folder.file("smol.gguf"), "--shard-size", "40MB", "-q")
        #expect(split.status == 0, "\(split.stderr)")
        let shards = (1...3).map { folder.file("smol-0000\($0)-of-00003.gguf") }
        let answer = try weightkit("generate", shards[1], "--prompt", "The capital of France is", "-n", "2", "--temperature", "0")
        #expect(answer.status == 0, "\(answer.stderr)")
        #expect(answer.stdout.hasPrefix(" Paris."), "\(answer.stdout)")
        let merged = folder.file("merged.gguf")
        #expect(try weightkit("convert", shards[0], merged, "-q").status == 0)
        // The original was written by llama.cpp's tooling; the merge is the same file.
        #expect(try readBytes(merged) == readBytes(gguf))
    }
}
