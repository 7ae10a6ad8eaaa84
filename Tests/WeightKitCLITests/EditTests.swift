import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// `weightkit edit` against gguf-py's own editors: gguf_set_metadata.py (existing scalars keep
/// their type) and gguf_new_metadata.py (remove a key, a new chat template, a new name). The same
/// edit must give the same key set, types and values, and byte-identical tensors.
@Suite("GGUF metadata editing")
struct EditTests {
    /// Prints "same", or what differs, between two GGUFs as gguf-py reads them.
    static let compare = """
        import sys, gguf
        def load(p):
            r = gguf.GGUFReader(p)
            meta = {k: (tuple(int(t) for t in f.types), repr(f.contents())) for k, f in r.fields.items() if not k.startswith("GGUF.")}
            tensors = {t.name: (int(t.tensor_type), tuple(int(x) for x in t.shape), t.data.tobytes()) for t in r.tensors}
            return meta, tensors
        (ma, ta), (mb, tb) = load(sys.argv[1]), load(sys.argv[2])
        diff = sorted(k for k in set(ma) | set(mb) if ma.get(k) != mb.get(k))
        tdiff = sorted(k for k in set(ta) | set(tb) if ta.get(k) != tb.get(k))
        print("same" if not diff and not tdiff else f"metadata {diff[:5]} tensors {tdiff[:5]}")
        """

    static func tool(_ name: String, _ args: [String]) throws -> ProcessResult {
        try run(pythonExecutable, ["-c", "import sys; from gguf.scripts.\(name) import main; sys.argv = ['\(name)'] + sys.argv[1:]; main()"] + args)
    }

    @Test("--set on existing keys equals gguf_set_metadata.py: same types, same values, tensors untouched")
    func setExisting() throws {
        let tmp = TemporaryFolder(), original = fixture("models/llama3/llamacpp.gguf")
        let theirs = tmp.file("theirs.gguf")
        try FileManager.default.copyItem(atPath: original, toPath: theirs)
        for (key, value) in [("llama.context_length", "4096"), ("llama.rope.freq_base", "20000.5"), ("llama.attention.head_count", "8")] {
            let r = try Self.tool("gguf_set_metadata", [theirs, key, value, "--force"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let ours = try weightkit("edit", original, tmp.file("ours.gguf"), "--set", "llama.context_length=4096", "--set", "llama.rope.freq_base=20000.5",
                                 "--set", "llama.attention.head_count=8")
        #expect(ours.status == 0 && ours.stdout.contains("changed: llama.context_length, llama.rope.freq_base"), "\(ours.stdout)\(ours.stderr)")
        #expect(try python(Self.compare, [tmp.file("ours.gguf"), theirs]).contains("same"))
        let file = try GGUFFile(path: tmp.file("ours.gguf"))
        #expect(file.typedMetadata.first { $0.key == "llama.context_length" }?.value == .uint32(4096))
    }

    @Test("new keys: inferred or given types, arrays; --in-place replaces the file only when done")
    func newKeys() throws {
        let tmp = TemporaryFolder(), path = tmp.file("m.gguf")
        try FileManager.default.copyItem(atPath: fixture("models/llama3/llamacpp.gguf"), toPath: path)
        let before = try GGUFFile(path: path).tensors.map(\.name)
        let r = try weightkit("edit", path, "--in-place", "--set", "my.count=7", "--set", "my.neg=-3", "--set", "my.ratio=0.5", "--set", "my.flag=true",
                              "--set", "my.text=hello world", "--set", "my.big:u64=5", "--set", "my.list:[u32]=[1,2,3]", "--set", "my.words:[str]=[\"a\",\"b\"]")
        #expect(r.status == 0, "\(r.stderr)")
        let file = try GGUFFile(path: path)
        let meta = Dictionary(file.typedMetadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(meta["my.count"] == .uint32(7) && meta["my.neg"] == .int32(-3) && meta["my.ratio"] == .float32(0.5) && meta["my.flag"] == .bool(true))
        #expect(meta["my.text"] == .string("hello world") && meta["my.big"] == .uint64(5))
        #expect(meta["my.list"] == .array(elementType: .uint32, [.uint32(1), .uint32(2), .uint32(3)]))
        #expect(meta["my.words"] == .array(elementType: .string, [.string("a"), .string("b")]))
        #expect(file.tensors.map(\.name) == before)
        #expect(try python(Self.compare, [path, fixture("models/llama3/llamacpp.gguf")]).contains("metadata ['my."))
        // The model still runs.
        #expect(try weightkit("generate", path, "--prompt", "hi", "-n", "2").status == 0)
    }

    @Test("bad edits are clear errors and write nothing", arguments: [
        (["--remove", "no.such.key"], "no such key"),
        (["--set", "llama.context_length=abc"], "\"abc\" is not a u32"),
        (["--set", "llama.context_length=-1"], "is not a u32"),
        (["--set", "general.alignment=64"], "general.alignment"),
        (["--set", "my.x:u9=1"], "unknown type \"u9\""),
        (["--set", "my.x:[u8]=[1,300]"], "\"300\" is not a u8"),
        (["--set", "novalue"], "is not KEY=VALUE"),
    ])
    func refusals(_ args: [String], _ message: String) throws {
        let tmp = TemporaryFolder()
        let r = try weightkit(["edit", fixture("models/llama3/llamacpp.gguf"), tmp.file("out.gguf")] + args)
        #expect(r.status == 65 && r.stderr.contains(message), "\(args): \(r.status) \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: tmp.file("out.gguf")))
    }

    @Test("requests that cannot be met: no change, both OUT and --in-place, an existing OUT, a format without metadata to edit")
    func requests() throws {
        let tmp = TemporaryFolder(), gguf = fixture("models/llama3/llamacpp.gguf")
        #expect(try weightkit("edit", gguf, tmp.file("a.gguf")).status == 64)
        #expect(try weightkit("edit", gguf, tmp.file("a.gguf"), "--in-place", "--set", "a=1").status == 64)
        try Data([1]).write(to: URL(fileURLWithPath: tmp.file("exists.gguf")))
        #expect(try weightkit("edit", gguf, tmp.file("exists.gguf"), "--set", "a=1").status == 64)
        #expect(try weightkit("edit", gguf, tmp.file("exists.gguf"), "--set", "a=1", "--force").status == 0)
        let npz = try weightkit("edit", fixture("numpy/all_dtypes.npz"), tmp.file("b.npz"), "--set", "a=1")
        #expect(npz.status == 65 && npz.stderr.contains("GGUF, pack or single safetensors file"), "\(npz.stderr)")
    }

    @Test("safetensors __metadata__: strings set and removed as the safetensors library reads them, tensors unchanged")
    func safetensors() throws {
        let tmp = TemporaryFolder(), input = fixture("models/llama/model.safetensors")
        let r = try weightkit("edit", input, tmp.file("a.safetensors"), "--set", "format=np", "--set", "note=hello there")
        #expect(r.status == 0 && r.stdout.contains("changed: format") && r.stdout.contains("added: note"), "\(r.stdout)\(r.stderr)")
        let check = """
            import sys, numpy as np
            from safetensors import safe_open
            from safetensors.numpy import load_file
            a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
            same = a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)
            print(sorted(safe_open(sys.argv[2], "np").metadata().items()), same)
            """
        #expect(try python(check, [input, tmp.file("a.safetensors")]).contains("[('format', 'np'), ('note', 'hello there')] True"))
        #expect(try weightkit("edit", tmp.file("a.safetensors"), "--in-place", "--remove", "note").status == 0)
        #expect(try python(check, [input, tmp.file("a.safetensors")]).contains("[('format', 'np')] True"))
        let typed = try weightkit("edit", input, tmp.file("b.safetensors"), "--set", "x:u32=1")
        #expect(typed.status == 65 && typed.stderr.contains("holds strings only"), "\(typed.stderr)")
        #expect(try weightkit("edit", input, tmp.file("b.safetensors"), "--remove", "nope").status == 65)
    }
}

/// On SmolLM2's real GGUF (WEIGHTKIT_SMOLLM2_GGUF): the same edit as gguf_new_metadata.py.
@Suite("Real model: SmolLM2 metadata editing", .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] != nil))
struct SmolLM2EditTests {
    @Test("remove a key, a new chat template and name: what gguf_new_metadata.py writes")
    func newMetadata() throws {
        let gguf = ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_GGUF"] ?? ""
        let tmp = TemporaryFolder()
        try "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}".write(toFile: tmp.file("t.jinja"), atomically: true, encoding: .utf8)
        let theirs = try EditTests.tool(
            "gguf_new_metadata", [gguf, tmp.file("theirs.gguf"), "--remove-metadata", "general.license", "--chat-template-file", tmp.file("t.jinja"),
                                  "--general-name", "Renamed", "--force"])
        #expect(theirs.status == 0, "\(theirs.stderr)")
        let ours = try weightkit("edit", gguf, tmp.file("ours.gguf"), "--remove", "general.license", "--chat-template", tmp.file("t.jinja"),
                                 "--set", "general.name=Renamed")
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect(try python(EditTests.compare, [tmp.file("ours.gguf"), tmp.file("theirs.gguf")]).contains("same"))
    }
}
