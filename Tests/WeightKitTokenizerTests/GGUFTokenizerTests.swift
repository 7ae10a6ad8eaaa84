import Foundation
import Testing
import WeightKitCore
import WeightKitTestSupport
@testable import WeightKitTokenizer

/// GGUF metadata from a JSON object of `tokenizer.ggml.*` keys (what the generator dumped with
/// the Python `gguf` reader): arrays become `.array`, integers `.int`, floats `.float`.
func metadata(fromJSON object: JSONObject) -> Metadata {
    func convert(_ v: JSONValue) -> MetadataValue {
        switch v {
        case .string(let s): return .string(s)
        case .int(let i): return .int(i)
        case .uint(let u): return .uint(u)
        case .double(let d): return .float(d)
        case .bool(let b): return .bool(b)
        case .array(let items): return .array(items.map(convert))
        default: return .string("")
        }
    }
    var m = Metadata()
    for (k, v) in object.entries { m[k] = convert(v) }
    return m
}

/// The token strings of a tokenizer.json `vocab` object, in id order.
func tokensByID(_ vocab: JSONObject) throws -> [String] {
    var tokens = [String](repeating: "", count: vocab.count)
    for (t, id) in vocab.entries { tokens[try #require(id.int)] = t }
    return tokens
}

/// SmolLM2's GGUF tokenizer keys: the scalars and token types the generator dumped, with the
/// tokens and merges of the fixture tokenizer.json (the generator asserted they are the GGUF's
/// arrays, in order).
func smollm2GGUFMetadata() throws -> Metadata {
    var m = metadata(fromJSON: try #require(fixtureJSON("tokenizer/smollm2/gguf_metadata.json").object))
    let model = try #require(fixtureJSON("tokenizer/smollm2/tokenizer.json").object?["model"]?.object)
    m["tokenizer.ggml.tokens"] = .array(try tokensByID(try #require(model["vocab"]?.object)).map { .string($0) })
    m["tokenizer.ggml.merges"] = .array(try #require(model["merges"]?.array).map { pair in
        .string(try #require(pair.array).map { try #require($0.string) }.joined(separator: " "))
    })
    return m
}

/// A GGUF file's `tokenizer.*` keys (but the chat template), read with the Python gguf reader.
func realGGUFTokenizerMetadata(_ path: String) throws -> Metadata {
    let folder = TemporaryFolder()
    let out = folder.file("meta.json")
    _ = try python("""
        import gguf, json, sys
        r = gguf.GGUFReader(sys.argv[1]); out = {}
        for k, f in r.fields.items():
            if not k.startswith('tokenizer.') or k == 'tokenizer.chat_template': continue
            t = f.types[0]
            if t == gguf.GGUFValueType.ARRAY:
                if f.types[1] == gguf.GGUFValueType.STRING: out[k] = [bytes(f.parts[i]).decode() for i in f.data]
                else: out[k] = [f.parts[i][0].item() for i in f.data]
            elif t == gguf.GGUFValueType.STRING: out[k] = bytes(f.parts[f.data[0]]).decode()
            else: out[k] = f.parts[f.data[0]][0].item()
        json.dump(out, open(sys.argv[2], 'w'))
        """, [path, out])
    return metadata(fromJSON: try #require(JSON.parse(String(decoding: try readBytes(out), as: UTF8.self)).object))
}

@Suite("GGUF-embedded tokenizers")
struct GGUFTokenizerTests {
    @Test("SmolLM2's gpt2/smollm GGUF tokenizer gives the tokenizers ids on the whole corpus")
    func smollm2FromMetadata() throws {
        let m = try smollm2GGUFMetadata()
        let tokenizer = try BPETokenizer.fromGGUFMetadata(m)
        #expect(tokenizer.bosTokenId == 1 && tokenizer.eosTokenId == 2)
        try checkGolden(tokenizer, expected: "smollm2")
    }

    @Test("A llama (SentencePiece) GGUF tokenizer rebuilds merges from scores and matches tokenizers")
    func sentencePieceFromMetadata() throws {
        let m = metadata(fromJSON: try #require(fixtureJSON("tokenizer/sp_gguf/gguf_metadata.json").object))
        let tokenizer = try BPETokenizer.fromGGUFMetadata(m)
        #expect(tokenizer.encode("Hello", addSpecialTokens: true).first == 1)
        try checkGolden(tokenizer, expected: "sp_gguf")
    }

    @Test("The real SmolLM2 GGUF, read with the Python gguf reader, gives the same ids",
          .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_DIR"] != nil))
    func realSmolLM2GGUF() throws {
        let dir = try #require(ProcessInfo.processInfo.environment["WEIGHTKIT_SMOLLM2_DIR"])
        let gguf = try #require(FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String }.first { $0.hasSuffix(".gguf") })
        try checkGolden(try BPETokenizer.fromGGUFMetadata(try realGGUFTokenizerMetadata(dir + "/" + gguf)), expected: "smollm2")
    }

    @Test("Unknown GGUF tokenizer models and pre-tokenizers are refused by name")
    func unsupported() throws {
        var m = Metadata()
        m["tokenizer.ggml.model"] = .string("t5")
        m["tokenizer.ggml.tokens"] = .array([.string("a")])
        let e1 = #expect(throws: TokenizerError.self) { try BPETokenizer.fromGGUFMetadata(m) }
        #expect(e1?.kind == .unsupported && e1?.message.contains("t5") == true)
        m["tokenizer.ggml.model"] = .string("gpt2")
        m["tokenizer.ggml.merges"] = .array([])
        m["tokenizer.ggml.pre"] = .string("mystery")
        let e2 = #expect(throws: TokenizerError.self) { try BPETokenizer.fromGGUFMetadata(m) }
        #expect(e2?.kind == .unsupported && e2?.field == "tokenizer.ggml.pre")
        m["tokenizer.ggml.model"] = .string("llama")
        m["tokenizer.ggml.scores"] = .array([.float(0), .float(1)])
        let e3 = #expect(throws: TokenizerError.self) { try BPETokenizer.fromGGUFMetadata(m) }
        #expect(e3?.kind == .invalidValue && e3?.field == "tokenizer.ggml.scores")
    }
}
