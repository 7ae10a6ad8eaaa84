/// Unicode character classes as Hugging Face `tokenizers` (Rust `char` methods and Oniguruma's
/// `\s`, `\p{L}`, `\p{N}`) sees them, with an ASCII fast path.
enum CharacterClass {
    private static let letterBit: UInt8 = 1, numberBit: UInt8 = 2, spaceBit: UInt8 = 4, punctBit: UInt8 = 8

    /// Flags for the 128 ASCII scalars.
    private static let ascii: [UInt8] = (0..<128).map { value -> UInt8 in
        let s = Unicode.Scalar(UInt8(value))
        var flags: UInt8 = 0
        if isLetterSlow(s) { flags |= letterBit }
        if isNumberSlow(s) { flags |= numberBit }
        if s.properties.isWhitespace { flags |= spaceBit }
        if isPunctuationSlow(s) { flags |= punctBit }
        return flags
    }

    private static func isLetterSlow(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    private static func isNumberSlow(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    private static func isPunctuationSlow(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }

    /// `\p{L}`: general category Lu, Ll, Lt, Lm or Lo.
    @inline(__always) static func isLetter(_ s: Unicode.Scalar) -> Bool {
        s.value < 128 ? ascii[Int(s.value)] & letterBit != 0 : isLetterSlow(s)
    }

    /// `\p{N}` and Rust's `char::is_numeric`: general category Nd, Nl or No.
    @inline(__always) static func isNumber(_ s: Unicode.Scalar) -> Bool {
        s.value < 128 ? ascii[Int(s.value)] & numberBit != 0 : isNumberSlow(s)
    }

    /// `\s` and Rust's `char::is_whitespace`: the White_Space property.
    @inline(__always) static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s.value < 128 ? ascii[Int(s.value)] & spaceBit != 0 : s.properties.isWhitespace
    }

    /// General category P* (Rust `char::is_punctuation` in the `unicode_categories` crate).
    @inline(__always) static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        s.value < 128 ? ascii[Int(s.value)] & punctBit != 0 : isPunctuationSlow(s)
    }

    /// BERT's punctuation: ASCII punctuation (which includes `$`, `+`, `<`, `^`, `` ` ``, `|`, `~`)
    /// or a P* scalar.
    static func isBertPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.value < 128 {
            let v = s.value
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
        }
        return isPunctuationSlow(s)
    }

    /// `\p{L}` or `\p{N}`.
    @inline(__always) static func isLetterOrNumber(_ s: Unicode.Scalar) -> Bool {
        s.value < 128 ? ascii[Int(s.value)] & (letterBit | numberBit) != 0 : isLetterSlow(s) || isNumberSlow(s)
    }

    /// Rust's `char::is_alphanumeric` (Alphabetic or numeric) or `_`: a word character for
    /// added tokens with `single_word`.
    static func isWordCharacter(_ s: Unicode.Scalar) -> Bool {
        s == "_" || s.properties.isAlphabetic || isNumber(s)
    }

    /// BERT's control characters: categories Cc, Cf, Cn, Co and Cs, except tab, newline and
    /// carriage return.
    static func isBertControl(_ s: Unicode.Scalar) -> Bool {
        if s.value < 128 { return (s.value < 32 || s.value == 127) && s != "\t" && s != "\n" && s != "\r" }
        switch s.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// BERT's whitespace: tab, newline, carriage return, or White_Space.
    static func isBertWhitespace(_ s: Unicode.Scalar) -> Bool {
        isWhitespace(s)
    }

    /// `\p{M}`: general category Mn, Mc or Me.
    static func isMark(_ s: Unicode.Scalar) -> Bool {
        guard s.value >= 0x300 else { return false }
        switch s.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// A nonspacing mark (Mn), what BERT's accent stripping removes after NFD.
    static func isNonspacingMark(_ s: Unicode.Scalar) -> Bool {
        s.value >= 0x300 && s.properties.generalCategory == .nonspacingMark
    }

    /// BERT's "Chinese character" ranges: CJK Unified Ideographs and their extensions and
    /// compatibility blocks.
    static func isCJK(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
            0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default: return false
        }
    }

    /// Two-letter general category names, in the bit order of `categoryIndex`.
    private static let categoryNames = [
        "Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po",
        "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn",
    ]

    /// One bit for the scalar's general category, in the layout of `categoryMask(named:)`.
    static func categoryBit(_ s: Unicode.Scalar) -> UInt32 {
        1 << categoryIndex(s.properties.generalCategory)
    }

    private static func categoryIndex(_ c: Unicode.GeneralCategory) -> UInt32 {
        switch c {
        case .uppercaseLetter: 0
        case .lowercaseLetter: 1
        case .titlecaseLetter: 2
        case .modifierLetter: 3
        case .otherLetter: 4
        case .nonspacingMark: 5
        case .spacingMark: 6
        case .enclosingMark: 7
        case .decimalNumber: 8
        case .letterNumber: 9
        case .otherNumber: 10
        case .connectorPunctuation: 11
        case .dashPunctuation: 12
        case .openPunctuation: 13
        case .closePunctuation: 14
        case .initialPunctuation: 15
        case .finalPunctuation: 16
        case .otherPunctuation: 17
        case .mathSymbol: 18
        case .currencySymbol: 19
        case .modifierSymbol: 20
        case .otherSymbol: 21
        case .spaceSeparator: 22
        case .lineSeparator: 23
        case .paragraphSeparator: 24
        case .control: 25
        case .format: 26
        case .surrogate: 27
        case .privateUse: 28
        case .unassigned: 29
        @unknown default: 29
        }
    }

    /// The mask for a regex property name: a two-letter category (`Lu`, `Nd`, `Po`, …) or a
    /// one-letter group (`L`, `M`, `N`, `P`, `S`, `Z`, `C`); nil for anything else (scripts,
    /// binary properties), which a caller refuses.
    static func categoryMask(named name: String) -> UInt32? {
        if let i = categoryNames.firstIndex(of: name) { return 1 << UInt32(i) }
        guard name.count == 1 else { return nil }
        var mask: UInt32 = 0
        for (i, n) in categoryNames.enumerated() where n.hasPrefix(name) { mask |= 1 << UInt32(i) }
        return mask == 0 ? nil : mask
    }
}
