import Foundation
import Testing
import WeightKitCore
@testable import WeightKitFormats
import WeightKitTestSupport

@Suite("npz reader")
struct NPZReadTests {
    static let npzFiles = Array(Set(NumPyExpectation.all.filter { $0.file.hasSuffix(".npz") }.map(\.file))).sorted()

    @Test("every .npz numpy wrote (savez, savez_compressed, data descriptors, zip64) reads with numpy's values", arguments: npzFiles)
    func readsNumPyArchive(_ file: String) throws {
        let archive = try NPZArchive(path: fixture("numpy/" + file))
        let expected = NumPyExpectation.all.filter { $0.file == file }
        #expect(Set(archive.tensors.map(\.name)) == Set(expected.map(\.tensor)))
        for e in expected { try e.check(in: archive) }
    }

    @Test("stored members are zero-copy views; deflated and non-native ones are owned")
    func storage() throws {
        let stored = try NPZArchive(path: fixture("numpy/mixed.npz"))
        let embed = try #require(stored.tensor(named: "embed.weight"))
        #expect(try stored.storage(of: embed).isMapped)
        #expect(embed.fileOffset != nil)
        let fortran = try #require(stored.tensor(named: "fortran"))
        #expect(try !stored.storage(of: fortran).isMapped)
        let deflated = try NPZArchive(path: fixture("numpy/mixed_compressed.npz"))
        #expect(try !deflated.storage(named: "embed.weight").isMapped)
        #expect(deflated.tensor(named: "embed.weight")?.fileOffset == nil)
    }

    @Test("the zip64 fixture really uses zip64 records and the descriptor one data descriptors")
    func zipFeatures() throws {
        let zip64 = try readBytes(fixture("numpy/zip64.npz"))
        #expect(zip64.indices.dropLast(4).contains { zip64[$0..<$0 + 4] == [0x50, 0x4B, 6, 6] })
        let archive = try NPZArchive(path: fixture("numpy/descriptor.npz"))
        #expect(archive.members.allSatisfy { $0.entry.flags & ZipRecord.descriptorFlag != 0 && !$0.entry.isStored })
    }

    static let openFailures: [(String, FormatError.Kind)] = [
        ("truncated.npz", .truncated),
        ("bomb.npz", .limitExceeded),
        ("duplicate.npz", .duplicateName),
        ("member_short.npz", .sizeMismatch),
        ("not_npy_member.npz", .unsupported),
        ("pickle.npz", .unsupportedDType),
    ]

    @Test("malformed archives fail to open with the intended error kind", arguments: openFailures)
    func malformedAtOpen(_ name: String, _ kind: FormatError.Kind) {
        expectFormatError(kind, name) { _ = try NPZArchive(path: fixture("numpy/bad/" + name)) }
    }

    @Test("a flipped data byte is a CRC mismatch when the tensor is read")
    func badCRC() throws {
        let archive = try NPZArchive(path: fixture("numpy/bad/bad_crc.npz"))
        let error = expectFormatError(.checksumMismatch) { _ = try archive.storage(named: "w") }
        #expect(error?.tensorName == "w")
    }

    @Test("a member that inflates past its declared size is stopped at the cap (zip sizes lying too)")
    func lyingBomb() throws {
        let archive = try NPZArchive(path: fixture("numpy/bad/bomb_lying.npz"))
        #expect(archive.tensors.first?.byteCount == 16)
        expectFormatError(.limitExceeded) { _ = try archive.storage(named: "w") }
    }

    @Test("not a zip at all is a bad magic error")
    func notZip() throws {
        expectFormatError(.badMagic) { _ = try NPZArchive(path: fixture("numpy/v2.npy")) }
    }

    @Test("an archive cut at every length is an error, never a crash")
    func everyTruncation() throws {
        let bytes = try readBytes(fixture("numpy/mixed_compressed.npz"))
        let dir = TemporaryFolder()
        for n in 0..<bytes.count {
            let path = dir.file("cut.npz")
            try writeBytes(Array(bytes[0..<n]), to: path)
            do {
                let archive = try NPZArchive(path: path)
                for t in archive.tensors { _ = try archive.storage(of: t) }
                Issue.record("cut at \(n) read without error")
            } catch is FormatError {
            }
        }
    }

    @Test("every byte of a small archive flipped is either harmless or a FormatError")
    func everyFlip() throws {
        let bytes = try readBytes(fixture("numpy/mixed_compressed.npz"))
        let dir = TemporaryFolder()
        for i in 0..<bytes.count {
            var copy = bytes
            copy[i] ^= 0x5A
            let path = dir.file("flip.npz")
            try writeBytes(copy, to: path)
            do {
                let archive = try NPZArchive(path: path)
                for t in archive.tensors { _ = try archive.storage(of: t) }
            } catch is FormatError {
            }
        }
    }
}
