import Foundation
import Testing
import WeightKitCore
import WeightKitTestSupport

/// `OutputFile` skips whole zero pages at page-aligned file offsets (holes) instead of writing
/// them: the file must still read back byte for byte, and mostly-zero files must be sparse.
@Suite("Sparse output files")
struct OutputFileSparseTests {
    /// Data with zero runs of every kind: whole aligned pages, runs that start or end mid-page,
    /// single non-zero bytes inside otherwise zero pages, and a zero tail.
    static func mixedData(count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let block = i / 3000  // runs of 3000 bytes: never page-aligned
            if block % 3 == 1 { bytes[i] = UInt8(truncatingIfNeeded: state >> 33) | 1 }
        }
        // Lone non-zero bytes at a page's first, middle and last byte.
        for i in [4096 * 7, 4096 * 9 + 2048, 4096 * 12 - 1] where i < count - 9000 { bytes[i] = 0x5A }
        // The last 9000 bytes are zero: the file ends in a hole that commit() must keep.
        for i in max(0, count - 9000)..<count { bytes[i] = 0 }
        return bytes
    }

    /// Writes `bytes` in pieces of the given sizes (cycled) and returns what the file holds.
    static func roundTrip(_ bytes: [UInt8], pieces: [Int]) throws -> [UInt8] {
        let folder = TemporaryFolder()
        let path = folder.file("out.bin")
        let output = try OutputFile(path: path)
        var offset = 0, index = 0
        while offset < bytes.count {
            let n = min(pieces[index % pieces.count], bytes.count - offset)
            try bytes.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
            offset += n
            index += 1
        }
        #expect(output.written == bytes.count)
        try output.commit()
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("mixed zero and non-zero data written at odd offsets and sizes reads back identical", arguments: [
        [1 << 20], [3, 4093, 8192, 12_289], [1, 7, 4096, 40_000, 5], [65_537],
    ])
    func mixedPieces(pieces: [Int]) throws {
        let data = Self.mixedData(count: 300_001)
        let back = try Self.roundTrip(data, pieces: pieces)
        #expect(back.count == data.count)
        #expect(back == data)
    }

    @Test("a file that is all zeros has its full length")
    func allZeros() throws {
        let data = [UInt8](repeating: 0, count: 5 * 4096 + 3)
        #expect(try Self.roundTrip(data, pieces: [4096 * 2, 100_000]) == data)
    }

    @Test("overwrite into a skipped (hole) region lands at the right offset")
    func overwriteIntoHole() throws {
        let folder = TemporaryFolder()
        let path = folder.file("out.bin")
        let output = try OutputFile(path: path)
        try output.writeZeros(3 * 4096)  // a placeholder that becomes a hole
        try output.write([1, 2, 3])
        try output.overwrite([9, 8, 7, 6], at: 4096 + 10)
        try output.commit()
        let back = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var expected = [UInt8](repeating: 0, count: 3 * 4096 + 3)
        expected[4096 + 10..<4096 + 14] = [9, 8, 7, 6]
        expected[3 * 4096..<3 * 4096 + 3] = [1, 2, 3]
        #expect(back == expected)
    }

    /// Whether the file system under /tmp makes holes: a file extended by `ftruncate` to 64 MiB
    /// with one byte written at the end must occupy well under 64 MiB.
    static let holesSupported: Bool = {
        let folder = TemporaryFolder()
        let path = folder.file("probe")
        let fd = open(path, O_CREAT | O_RDWR, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard ftruncate(fd, 64 << 20) == 0, pwrite(fd, [UInt8(1)], 1, (64 << 20) - 1) == 1, fsync(fd) == 0 else { return false }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        return Int(info.st_blocks) * 512 < 1 << 20
    }()

    @Test("a mostly-zero file takes few blocks on disk", .enabled(if: holesSupported, "the file system under /tmp has no holes"))
    func sparseOnDisk() throws {
        let folder = TemporaryFolder()
        let path = folder.file("sparse.bin")
        let output = try OutputFile(path: path)
        var data = [UInt8](repeating: 0, count: 64 << 20)
        data[5] = 1
        data[(32 << 20) + 4095] = 2
        data[(64 << 20) - 1] = 3
        try output.write(Array(data[0..<1000]))  // pieces that cross page boundaries
        try data.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[1000...])) }
        try output.commit()
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(Int(info.st_size) == data.count)
        // Three pages hold data; allow for file-system metadata blocks, far below 64 MiB.
        #expect(Int(info.st_blocks) * 512 <= 256 << 10, "st_blocks = \(info.st_blocks)")
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == data)
    }
}
