import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// Every byte of a pack is covered: any single changed byte is found and placed, and a
/// truncation anywhere is a clean error.
@Suite("Pack integrity")
struct PackIntegrityTests {
    /// Which part of the pristine fixture holds byte `i`, and what `validate` must then say.
    static func expectedPlace(of i: Int, in pack: PackReader) -> PackDamage.Place {
        if i < pack.header.dataStart { return .header }
        var sections = pack.header.tensors.map { (PackDamage.Place.tensor($0.info.name), $0.info.name, $0.section) }
        if let t = pack.header.tokenizer { sections.append((.tokenizer, "tokenizer", t.section)) }
        var previous = ""
        for (place, name, section) in sections {
            if section.range.contains(i) { return place }
            if i < section.offset { return .padding(after: previous) }
            previous = name
        }
        return .padding(after: previous)
    }

    @Test("changing any single byte of the fixture pack is reported at the right place, with the right kind", arguments: [0x01, 0xFF] as [UInt8])
    func everyByteFlip(mask: UInt8) throws {
        let original = try readBytes(fixture("pack/tiny.wkp"))
        let pristine = try PackReader(path: fixture("pack/tiny.wkp"))
        let folder = TemporaryFolder()
        let path = folder.file("flipped.wkp")
        for i in original.indices {
            var bytes = original
            bytes[i] ^= mask
            try writeBytes(bytes, to: path)
            let damage = try PackReader.validate(path: path)
            let place = Self.expectedPlace(of: i, in: pristine)
            try #require(damage.count == 1, "byte \(i): \(damage)")
            #expect(damage[0].place == place, "byte \(i): \(damage[0])")
            let kind = damage[0].error.kind
            switch i {
            case 0..<6: #expect(kind == .badMagic, "byte \(i)")
            case 6: #expect(kind == .unsupportedVersion, "byte \(i)")
            case 8..<16: #expect([.headerTooLarge, .truncated, .invalidHeader, .checksumMismatch].contains(kind), "byte \(i): \(kind)")
            default: #expect(kind == .checksumMismatch, "byte \(i): \(kind)")
            }
            if case .tensor(let name) = place {
                #expect(damage[0].error.tensorName == name)
                // Opening still works: only that tensor's data is bad, and loading it says so.
                let reader = try PackReader(path: path, verifyOnLoad: true)
                #expect(throws: FormatError.self) { try reader.storage(named: name) }
            }
        }
    }

    @Test("every damaged tensor is reported by name, not just the first")
    func reportsEveryDamagedTensor() throws {
        var bytes = try readBytes(fixture("pack/tiny.wkp"))
        let pristine = try PackReader(path: fixture("pack/tiny.wkp"))
        let names = ["model.embed_tokens.weight", "mask", "position_ids", "blk.0.ffn_down.weight"]
        for name in names { bytes[try #require(pristine.entry(named: name)).section.offset] ^= 0x10 }
        let folder = TemporaryFolder()
        try writeBytes(bytes, to: folder.file("d.wkp"))
        let damage = try PackReader.validate(path: folder.file("d.wkp"))
        #expect(damage.map(\.place) == names.map { .tensor($0) })
        #expect(damage.allSatisfy { $0.error.kind == .checksumMismatch && $0.error.byteOffset != nil })
    }

    @Test("a pack cut short at any length fails to open with a truncation or size error")
    func everyTruncation() throws {
        let original = try readBytes(fixture("pack/tiny.wkp"))
        let folder = TemporaryFolder()
        for length in 0..<original.count {
            let error = PackTestSupport.openError(Array(original.prefix(length)), in: folder)
            let kind = try #require(error?.kind, "length \(length) opened")
            #expect(kind == .truncated || kind == .sizeMismatch, "length \(length): \(error!)")
            let damage = try PackReader.validate(path: folder.file("t.wkp"))
            #expect(damage.map(\.place) == [.header])
        }
    }

    @Test("a pack with bytes appended is refused with a size mismatch at the end of the data")
    func trailingBytes() throws {
        let original = try readBytes(fixture("pack/tiny.wkp"))
        let error = PackTestSupport.openError(original + [0], in: TemporaryFolder())
        #expect(error?.kind == .sizeMismatch)
        #expect(error?.byteOffset == original.count)
    }
}
