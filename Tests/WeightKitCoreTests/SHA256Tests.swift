import Testing
import WeightKitCore
import WeightKitTestSupport

/// SHA-256 against Python's hashlib on every padding boundary and on split updates.
@Suite("SHA-256")
struct SHA256Tests {
    static let lengths = [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 1000, 4099]

    static func message(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    @Test("digests equal hashlib.sha256 for lengths around every block boundary")
    func matchesHashlib() throws {
        let lines = try python("""
            import hashlib, sys
            for n in map(int, sys.argv[1:]):
                print(hashlib.sha256(bytes((i * 31 + 7) & 255 for i in range(n))).hexdigest())
            """, Self.lengths.map(String.init))
        let expected = lines.split(separator: "\n").map(String.init)
        #expect(expected.count == Self.lengths.count)
        for (n, hex) in zip(Self.lengths, expected) {
            #expect(SHA256.hex(Self.message(n)) == hex, "length \(n)")
        }
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("feeding the bytes in uneven pieces gives the same digest as one update")
    func splitUpdates() {
        let bytes = Self.message(1000)
        for step in [1, 7, 63, 64, 65, 333] {
            var hash = SHA256()
            var i = 0
            while i < bytes.count {
                hash.update(Array(bytes[i..<min(i + step, bytes.count)]))
                i += step
            }
            #expect(SHA256.hexString(hash.finalize()) == SHA256.hex(bytes), "step \(step)")
        }
    }
}
