import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// Each malformed fixture (written by `fixtures/gguf/generate.py`) breaks one rule and must give
/// the intended `FormatError.Kind`, never a crash or a huge allocation.
@Suite("GGUF malformed input")
struct GGUFMalformedTests {
    static let cases: [(file: String, kind: FormatError.Kind, offset: Int?)] = [
        ("bad_bad_magic.gguf", .badMagic, 0),
        ("bad_version1.gguf", .unsupportedVersion, 4),
        ("bad_truncated_kv.gguf", .truncated, nil),
        ("bad_string_past_eof.gguf", .truncated, 32),
        ("bad_huge_array.gguf", .limitExceeded, 24 + 8 + 8 + 4 + 4),
        ("bad_misaligned_offset.gguf", .invalidOffsets, nil),
        ("bad_dims_overflow.gguf", .limitExceeded, nil),
        ("bad_too_many_dims.gguf", .limitExceeded, nil),
        ("bad_duplicate_key.gguf", .duplicateName, nil),
        ("bad_duplicate_tensor.gguf", .duplicateName, nil),
        ("bad_data_past_eof.gguf", .truncated, nil),
        ("bad_bad_alignment.gguf", .invalidHeader, nil),
        ("bad_partial_block.gguf", .shapeMismatch, nil),
        ("bad_huge_tensor_count.gguf", .limitExceeded, 8),
        ("bad_overlapping_tensors.gguf", .invalidOffsets, nil),
        ("bad_deep_nesting.gguf", .limitExceeded, nil),
    ]

    @Test("each malformed fixture gives its error kind", arguments: cases.map(\.file))
    func malformed(_ name: String) throws {
        let (_, kind, offset) = try #require(Self.cases.first { $0.file == name })
        let path = fixture("gguf/" + name)
        let error = try #require(throws: FormatError.self) { try GGUFFile(path: path) }
        #expect(error.kind == kind, "\(error)")
        #expect(error.path == path)
        if let offset { #expect(error.byteOffset == offset, "\(error)") }
    }

    @Test("the generator's table and ours list the same files and kinds")
    func tableMatchesGenerator() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("gguf/malformed.json")))
        let table = try #require(try JSONSerialization.jsonObject(with: data) as? [String: String])
        #expect(Set(table.keys) == Set(Self.cases.map(\.file)))
        for c in Self.cases { #expect(table[c.file] == c.kind.rawValue, "\(c.file)") }
    }

    @Test("every truncation of a valid file fails cleanly")
    func everyTruncation() throws {
        let bytes = try readBytes(fixture("gguf/all_types.gguf"))
        let folder = TemporaryFolder()
        let path = folder.file("cut.gguf")
        // Every prefix through the header and tensor table, then a stride through the data
        // (up to the end of the last tensor: gguf-py pads after it, and padding may go).
        let file = try GGUFFile(path: fixture("gguf/all_types.gguf"))
        let end = file.tensors.map { $0.fileOffset! + $0.byteCount }.max()!
        for length in Array(0..<file.dataOffset) + Array(stride(from: file.dataOffset, to: end, by: 37)) + [end - 1] {
            try writeBytes(Array(bytes[..<length]), to: path)
            let error = try #require(throws: FormatError.self, "prefix \(length)") { try GGUFFile(path: path) }
            #expect([.truncated, .badMagic].contains(error.kind), "prefix \(length): \(error)")
        }
    }
}
