/// GPT-2's byte ↔ character table (`bytes_to_unicode`): printable Latin-1 bytes stand for
/// themselves, the other 68 bytes map to U+0100 and up, so every byte has a visible character.
enum ByteLevelAlphabet {
    /// Character for each byte.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var extra: UInt32 = 0
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(256 + extra)!
                extra += 1
            }
        }
        return table
    }()

    /// Byte for each character below U+0144 (-1 where the character is not in the alphabet).
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in byteToScalar.enumerated() { table[Int(s.value)] = Int16(b) }
        return table
    }()

    /// The stand-in characters for the UTF-8 bytes of `scalars`.
    static func encode(_ scalars: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for s in scalars {
            if s.value < 128 {
                out.append(byteToScalar[Int(s.value)])
            } else {
                var bytes: [UInt8] = []
                appendUTF8(s, to: &bytes)
                for b in bytes { out.append(byteToScalar[Int(b)]) }
            }
        }
        return out
    }

    /// The byte `s` stands for, if it is in the alphabet.
    @inline(__always) static func byte(for s: Unicode.Scalar) -> UInt8? {
        guard s.value < 0x144 else { return nil }
        let b = scalarToByte[Int(s.value)]
        return b < 0 ? nil : UInt8(b)
    }

    /// The bytes a token's characters stand for, or nil when one is outside the alphabet.
    static func bytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard let b = byte(for: s) else { return nil }
            out.append(b)
        }
        return out
    }
}
