/// A byte-level pass over JSON text that records, for every object in pre-order, where its key
/// literals are. json-c silently keeps the last of duplicate keys; comparing its key counts with
/// these lets strict readers refuse duplicates and say which key and where.
enum JSONKeyScanner {
    /// The keys of one object as they appear in the text.
    struct ObjectKeys {
        /// Offset of the object's `{`.
        var start: Int
        /// Byte ranges of the key literals, quotes excluded.
        var keys: [Range<Int>]
        /// The text, kept only while scanning results are in use.
        var text: [UInt8]
        /// Offset of the first key holding an escaped U+0000 (json-c keeps keys as C strings and
        /// would cut the name there, so `"a\u0000b"` would silently read as `"a"`).
        var nulKeyOffset: Int? = nil

        /// The first key that repeats an earlier one, decoded, with its offset.
        func firstDuplicate() -> (name: String, offset: Int)? {
            var seen = Set<ExactString>()
            for range in keys where range.upperBound <= text.count {
                let name = JSONKeyScanner.decode(Array(text[range]))
                if !seen.insert(ExactString(name)).inserted { return (name, range.lowerBound - 1) }
            }
            return nil
        }
    }

    /// Scans already-validated JSON text (json-c parsed it) and lists objects in pre-order.
    static func scan(_ bytes: UnsafeRawBufferPointer) -> [ObjectKeys] {
        let text = unsafe Array(bytes)
        var objects: [ObjectKeys] = []
        // Stack of open containers: index into `objects` for objects, -1 for arrays.
        var stack: [Int] = []
        var expectKey = false
        var i = 0
        let n = text.count
        while i < n {
            let c = text[i]
            switch c {
            case UInt8(ascii: "{"):
                objects.append(ObjectKeys(start: i, keys: [], text: []))
                stack.append(objects.count - 1)
                expectKey = true
            case UInt8(ascii: "["):
                stack.append(-1)
                expectKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = stack.popLast()
                expectKey = false
            case UInt8(ascii: ","):
                expectKey = (stack.last ?? -1) >= 0
            case UInt8(ascii: "\""):
                let start = i + 1
                var j = start
                var nul = false
                while j < n, text[j] != UInt8(ascii: "\"") {
                    if text[j] == UInt8(ascii: "\\"), j + 5 < n, text[j + 1] == UInt8(ascii: "u"),
                       text[j + 2..<j + 6].elementsEqual("0000".utf8) {
                        nul = true
                    }
                    j += text[j] == UInt8(ascii: "\\") ? 2 : 1
                }
                if expectKey, let top = stack.last, top >= 0 {
                    objects[top].keys.append(start..<min(j, n))
                    if nul && objects[top].nulKeyOffset == nil { objects[top].nulKeyOffset = start - 1 }
                }
                expectKey = false
                i = j
            default:
                break
            }
            i += 1
        }
        // Only objects with repeated keys need the text to name them; share one copy.
        for k in objects.indices where objects[k].keys.count > 1 { objects[k].text = text }
        return objects
    }

    /// Decodes the body of a JSON string literal (escapes and surrogate pairs).
    static func decode(_ body: [UInt8]) -> String {
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        func flush() {
            if !utf8.isEmpty {
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                utf8.removeAll()
            }
        }
        var i = 0
        var pendingHigh: UInt32?
        while i < body.count {
            let c = body[i]
            guard c == UInt8(ascii: "\\"), i + 1 < body.count else {
                utf8.append(c)
                i += 1
                continue
            }
            flush()
            let e = body[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "u"):
                guard i + 4 <= body.count, let v = UInt32(String(decoding: body[i..<i + 4], as: UTF8.self), radix: 16) else { break }
                i += 4
                if (0xD800..<0xDC00).contains(v) {
                    pendingHigh = v
                } else if (0xDC00..<0xE000).contains(v), let high = pendingHigh {
                    let combined = 0x10000 + ((high - 0xD800) << 10) + (v - 0xDC00)
                    if let s = Unicode.Scalar(combined) { scalars.append(s) }
                    pendingHigh = nil
                } else if let s = Unicode.Scalar(v) {
                    scalars.append(s)
                }
            default: scalars.append(Unicode.Scalar(e))
            }
        }
        flush()
        return String(scalars)
    }
}
