/// A string compared and hashed by its exact UTF-8 bytes.
///
/// Swift's `String ==` uses canonical equivalence, so `"é"` (U+00E9) equals `"e\u{301}"`. File
/// formats do not: JSON object keys, safetensors tensor names and tokenizer vocabularies treat
/// them as different strings. Use this as a dictionary key wherever the bytes are what matter.
public struct ExactString: Hashable, Sendable, CustomStringConvertible {
    /// The string.
    public let string: String

    /// Wraps `string`.
    @inline(__always) public init(_ string: String) { self.string = string }

    public static func == (a: ExactString, b: ExactString) -> Bool {
        a.string.utf8.elementsEqual(b.string.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        var copy = string
        copy.withUTF8 { bytes in
            // SAFETY: `bytes` is valid for the duration of this closure and only read here.
            unsafe hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
    }

    public var description: String { string }
}
