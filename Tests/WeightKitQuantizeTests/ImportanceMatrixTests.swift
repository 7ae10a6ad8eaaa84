import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

@testable import WeightKitQuantize

/// `ImportanceMatrix` against files llama-imatrix wrote (fixtures/quant/imatrix, GGUF and legacy
/// .dat, a dense and a mixture-of-experts tiny model) and the values llama-quantize derives from
/// them, recomputed in Python from the raw files (fixtures/quant/imatrix/generate.py).
@Suite("importance matrix")
struct ImportanceMatrixTests {
    static let files = ["llama3.imatrix.gguf", "llama3.imatrix.dat", "mixtral.imatrix.gguf", "mixtral.imatrix.dat"]

    static func read(_ path: String) throws -> ImportanceMatrix {
        let file = try MappedFile(path: path)
        return path.hasSuffix(".gguf") ? try ImportanceMatrix(gguf: GGUFFile(file: file)) : try ImportanceMatrix(legacy: file)
    }

    @Test("values equal llama-quantize's normalisation of llama-imatrix's files", arguments: files)
    func matchesReference(file: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("quant/imatrix/expected.json")))
        let all = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        let expected = try #require(all[file])
        let matrix = try Self.read(fixture("quant/imatrix/\(file)"))
        #expect(matrix.format.rawValue == expected["format"] as? String)
        #expect(matrix.datasets == expected["datasets"] as? [String])
        #expect(matrix.chunkCount == expected["chunk_count"] as? Int)
        #expect(matrix.chunkSize == expected["chunk_size"] as? Int)
        let entries = try #require(expected["entries"] as? [String: [String: Any]])
        #expect(Set(matrix.entries.keys) == Set(entries.keys))
        var compared = 0
        for (name, want) in entries {
            let got = try #require(matrix.entries[name])
            let values = (want["values"] as! [Double]).map(Float.init)
            #expect(got.matrices == want["matrices"] as? Int, "\(name)")
            #expect(got.values == values, "\(name)")
            compared += values.count
        }
        #expect(compared > 500)
        if file.hasPrefix("mixtral"), file.hasSuffix(".gguf") {
            // Stacked experts: one count per expert.
            #expect(matrix.entries["blk.0.ffn_down_exps.weight"]?.matrices == 4)
        }
    }

    @Test("lookups follow llama-quantize: absent → none, wrong size → error, token_embd's wrong size ignored")
    func lookups() throws {
        let m = ImportanceMatrix(format: .gguf, entries: [
            "blk.0.attn_q.weight": .init(values: [1, 2, 3, 4], matrices: 1),
            "token_embd.weight": .init(values: [1, 2], matrices: 1),
        ])
        #expect(try m.importance(for: "blk.0.attn_q.weight", columns: 4, matrices: 1) == [1, 2, 3, 4])
        #expect(try m.importance(for: "blk.0.attn_k.weight", columns: 4, matrices: 1) == nil)
        #expect(try m.importance(for: "token_embd.weight", columns: 4, matrices: 1) == nil)
        #expect(throws: FormatError.self) { try m.importance(for: "blk.0.attn_q.weight", columns: 2, matrices: 1) }
        #expect(m.unused(by: ["blk.0.attn_q.weight"]) == ["token_embd.weight"])
    }

    /// A legacy file: one entry "w" with ncall 2 and values [2, 4], then the trailer.
    static func legacyBytes(count: Int32 = 1, nval: Int32 = 2, values: [Float] = [2, 4], name: String = "w", twice: Bool = false) -> [UInt8] {
        var b: [UInt8] = []
        func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        func entry() {
            i32(Int32(name.utf8.count)); b += Array(name.utf8); i32(2); i32(nval)
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { b += $0 } }
        }
        i32(count)
        entry()
        if twice { entry() }
        i32(7); i32(4); b += Array("text".utf8)
        return b
    }

    static func parseLegacy(_ bytes: [UInt8]) throws -> ImportanceMatrix {
        let tmp = TemporaryFolder()
        let path = tmp.file("m.dat")
        try writeBytes(bytes, to: path)
        return try ImportanceMatrix(legacy: MappedFile(path: path))
    }

    @Test("legacy: values divided by ncall, trailer read")
    func legacyValues() throws {
        let m = try Self.parseLegacy(Self.legacyBytes())
        #expect(m.entries["w"]?.values == [1, 2])
        #expect(m.chunkCount == 7 && m.datasets == ["text"])
    }

    @Test("legacy: every truncation inside the entries is refused, a short trailer is not (as llama.cpp)")
    func legacyTruncation() throws {
        let bytes = Self.legacyBytes()
        let entriesEnd = 4 + 4 + 1 + 4 + 4 + 8
        for n in 0..<bytes.count {
            let cut = Array(bytes.prefix(n))
            if n < entriesEnd {
                #expect(throws: FormatError.self, "\(n) bytes") { try Self.parseLegacy(cut) }
            } else {
                #expect(try Self.parseLegacy(cut).entries["w"]?.values == [1, 2], "\(n) bytes")
            }
        }
    }

    @Test("legacy: no entries, no values, non-finite values, duplicate names are refused")
    func legacyMalformed() throws {
        func kind(_ bytes: [UInt8]) -> FormatError.Kind? {
            do { _ = try Self.parseLegacy(bytes); return nil } catch let e as FormatError { return e.kind } catch { return nil }
        }
        #expect(kind(Self.legacyBytes(count: 0)) == .invalidHeader)
        #expect(kind(Self.legacyBytes(nval: 0, values: [])) == .invalidHeader)
        #expect(kind(Self.legacyBytes(nval: 1 << 30)) == .truncated)
        #expect(kind(Self.legacyBytes(values: [1, .nan])) == .invalidHeader)
        #expect(kind(Self.legacyBytes(values: [.infinity, 1])) == .invalidHeader)
        #expect(kind(Self.legacyBytes(count: 2, twice: true)) == .duplicateName)
    }

    @Test("GGUF: a GGUF without llama-imatrix's keys is refused, as llama-quantize refuses it")
    func ggufWithoutMetadata() throws {
        #expect(throws: FormatError.self) { try Self.read(fixture("models/llama3/llamacpp.gguf")) }
    }
}
