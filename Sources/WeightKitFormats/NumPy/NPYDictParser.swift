import WeightKitCore

/// A strict parser for the Python dict literal in a `.npy` header.
///
/// Accepts exactly the keys `descr` (a string), `fortran_order` (`True`/`False`) and `shape`
/// (a tuple of non-negative integers; a one-element tuple needs its comma, as in Python), in
/// any order, with optional trailing commas and whitespace, followed only by spaces and the
/// final newline. Anything else (unknown, missing or repeated keys, other literals, escapes)
/// is an `.invalidHeader` error at the offending byte; a list `descr` (a structured dtype) is
/// `.unsupportedDType`. Nothing is ever evaluated.
struct NPYDictParser {
    /// What the dict holds.
    struct Dict {
        var descr: String
        var descrOffset: Int
        var fortranOrder: Bool
        var shape: [Int]
        var shapeOffset: Int
    }

    let bytes: [UInt8]
    /// Offset of `bytes` in the file, for error offsets.
    let base: Int
    let path: String?
    var position = 0

    init(bytes: [UInt8], base: Int, path: String?) {
        self.bytes = bytes
        self.base = base
        self.path = path
    }

    mutating func parse() throws(FormatError) -> Dict {
        var descr: (String, Int)?, fortran: Bool?, shape: ([Int], Int)?
        skipSpace()
        try expect(UInt8(ascii: "{"), "'{' opening the header dict")
        skipSpace()
        while peek() != UInt8(ascii: "}") {
            let keyOffset = position
            let key = try string()
            skipSpace()
            try expect(UInt8(ascii: ":"), "':' after the key '\(key)'")
            skipSpace()
            let valueOffset = base + position
            switch key {
            case "descr" where descr == nil:
                if peek() == UInt8(ascii: "[") {
                    throw FormatError(
                        .unsupportedDType, "structured (record) dtypes are not supported: WeightKit reads plain numeric arrays",
                        path: path, byteOffset: valueOffset)
                }
                descr = (try string(), valueOffset)
            case "fortran_order" where fortran == nil:
                fortran = try boolean()
            case "shape" where shape == nil:
                shape = (try tuple(), valueOffset)
            case "descr", "fortran_order", "shape":
                throw error("the key '\(key)' appears twice", at: keyOffset)
            default:
                throw error("unexpected key '\(key)'; a .npy header has only 'descr', 'fortran_order' and 'shape'", at: keyOffset)
            }
            skipSpace()
            guard peek() == UInt8(ascii: ",") else { break }
            position += 1
            skipSpace()
        }
        try expect(UInt8(ascii: "}"), "',' or '}' in the header dict")
        while position < bytes.count, bytes[position] == UInt8(ascii: " ") { position += 1 }
        if position < bytes.count, bytes[position] == UInt8(ascii: "\n") { position += 1 }
        guard position == bytes.count else {
            throw error("unexpected bytes after the header dict (expected spaces and a final newline)", at: position)
        }
        guard let descr, let fortran, let shape else {
            let missing = [descr == nil ? "descr" : nil, fortran == nil ? "fortran_order" : nil, shape == nil ? "shape" : nil]
            throw error("the header dict lacks \(missing.compactMap { $0 }.map { "'\($0)'" }.joined(separator: ", "))", at: 0)
        }
        return Dict(descr: descr.0, descrOffset: descr.1, fortranOrder: fortran, shape: shape.0, shapeOffset: shape.1)
    }

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    mutating func skipSpace() {
        while let c = peek(), c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { position += 1 }
    }

    func error(_ message: String, at offset: Int) -> FormatError {
        FormatError(.invalidHeader, ".npy header: \(message)", path: path, byteOffset: base + offset)
    }

    mutating func expect(_ c: UInt8, _ what: String) throws(FormatError) {
        guard peek() == c else {
            let found = peek().map { "'\(String(UnicodeScalar($0)))'" } ?? "the end of the header"
            throw error("expected \(what), found \(found)", at: position)
        }
        position += 1
    }

    /// A quoted string with no escapes.
    mutating func string() throws(FormatError) -> String {
        guard let quote = peek(), quote == UInt8(ascii: "'") || quote == UInt8(ascii: "\"") else {
            throw error("expected a quoted string", at: position)
        }
        let start = position
        position += 1
        var text: [UInt8] = []
        while let c = peek(), c != quote {
            guard c != UInt8(ascii: "\\"), c != 0x0A else { throw error("unsupported character in a string literal", at: position) }
            text.append(c)
            position += 1
        }
        guard peek() == quote else { throw error("unterminated string literal", at: start) }
        position += 1
        return String(decoding: text, as: UTF8.self)
    }

    mutating func boolean() throws(FormatError) -> Bool {
        for (word, value) in [("True", true), ("False", false)] {
            let w = Array(word.utf8)
            if position + w.count <= bytes.count, Array(bytes[position..<position + w.count]) == w {
                let after = position + w.count < bytes.count ? bytes[position + w.count] : 0x20
                if !isIdentifier(after) {
                    position += w.count
                    return value
                }
            }
        }
        throw error("'fortran_order' must be True or False", at: position)
    }

    /// `()`, `(5,)`, `(3, 4)`, `(3, 4,)`.
    mutating func tuple() throws(FormatError) -> [Int] {
        let start = position
        try expect(UInt8(ascii: "("), "a tuple '(' for 'shape'")
        var dims: [Int] = []
        var sawComma = false
        skipSpace()
        while peek() != UInt8(ascii: ")") {
            dims.append(try integer())
            skipSpace()
            guard peek() == UInt8(ascii: ",") else { sawComma = false; break }
            sawComma = true
            position += 1
            skipSpace()
        }
        try expect(UInt8(ascii: ")"), "',' or ')' in 'shape'")
        if dims.count == 1 && !sawComma {
            throw error("'shape' must be a tuple: a single dimension needs a trailing comma, as in (5,)", at: start)
        }
        return dims
    }

    /// A non-negative decimal integer without leading zeros, at most 2^63 − 1.
    mutating func integer() throws(FormatError) -> Int {
        let start = position
        var value = 0
        while let c = peek(), c >= 0x30, c <= 0x39 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(c - 0x30))
            guard !o1, !o2 else { throw error("a dimension in 'shape' overflows 64 bits", at: start) }
            value = s
            position += 1
        }
        guard position > start else { throw error("expected a non-negative integer dimension in 'shape'", at: start) }
        guard position - start == 1 || bytes[start] != 0x30 else { throw error("a dimension has a leading zero", at: start) }
        guard !isIdentifier(peek() ?? 0x20) else { throw error("malformed integer in 'shape'", at: start) }
        return value
    }

    func isIdentifier(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2E
    }
}
