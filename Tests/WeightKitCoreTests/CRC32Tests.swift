import Testing
import WeightKitCore
import WeightKitTestSupport

/// The folded CRC-32 must equal zlib's for every length and alignment, including the 16-byte
/// tails and the 64-byte threshold where it takes over.
@Suite("CRC-32")
struct CRC32Tests {
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    @Test("the fold agrees with zlib on every length 0…300 and every start offset 0…15")
    func agreesWithZlib() throws {
        #expect(CRC32.usesFold, "this CPU has PCLMULQDQ, so the fold must be in use")
        let data = Self.bytes(316, seed: 7)
        unsafe data.withUnsafeBytes { raw in
            for offset in 0..<16 {
                for count in 0...300 {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)])
                    for seed: UInt32 in [0, 0xDEAD_BEEF] {
                        let fast = unsafe CRC32.update(seed, slice), reference = unsafe CRC32.zlibUpdate(seed, slice)
                        #expect(fast == reference, "offset \(offset), count \(count), seed \(seed)")
                    }
                }
            }
        }
    }

    @Test("a 3 MB buffer checked in uneven pieces equals the whole and Python's zlib.crc32")
    func largeAndChained() throws {
        let data = Self.bytes(3_000_017, seed: 11)
        let folder = TemporaryFolder()
        let path = folder.file("data.bin")
        try writeBytes(data, to: path)
        let python = try python("import sys, zlib; print(zlib.crc32(open(sys.argv[1], 'rb').read()))", [path])
        let whole = CRC32.checksum(data)
        #expect(String(whole) + "\n" == python)
        var chained: UInt32 = 0, start = 0, step = 1
        unsafe data.withUnsafeBytes { raw in
            while start < raw.count {
                let end = min(raw.count, start + step)
                chained = unsafe CRC32.update(chained, UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                start = end
                step = step * 3 + 1
            }
        }
        #expect(chained == whole)
    }
}
