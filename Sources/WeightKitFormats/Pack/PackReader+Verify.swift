import WeightKitCore

/// One problem `PackReader.verify()` found, and where.
public struct PackDamage: Sendable, CustomStringConvertible {
    /// The part of the file that is damaged.
    public enum Place: Sendable, Hashable {
        /// The prefix or JSON header (or the file's size): nothing after it can be trusted.
        case header
        /// The stored bytes of the named tensor.
        case tensor(String)
        /// The tokenizer blob.
        case tokenizer
        /// The zero padding after the named section (a tensor name, or `tokenizer`).
        case padding(after: String)
    }

    /// Where.
    public var place: Place
    /// What: kind, message, byte offset.
    public var error: FormatError

    /// Creates a finding.
    public init(place: Place, error: FormatError) {
        self.place = place
        self.error = error
    }

    /// `tensor "w": …`.
    public var description: String {
        switch place {
        case .header: return "header: \(error.message)"
        case .tensor(let name): return "tensor \"\(name)\": \(error.message)"
        case .tokenizer: return "tokenizer: \(error.message)"
        case .padding(let name): return "padding after \"\(name)\": \(error.message)"
        }
    }
}

extension PackReader {
    /// Checks every byte of the data section: each tensor's and the tokenizer's CRC-32
    /// (inflating deflated ones) and the zero padding between sections. Returns every problem,
    /// in file order; an empty array means the pack is sound.
    public func verify(progress: ((Int, Int) -> Void)? = nil) -> [PackDamage] {
        var damage: [PackDamage] = []
        var sections: [(place: PackDamage.Place, name: String, section: PackSection)] =
            header.tensors.map { (.tensor($0.info.name), $0.info.name, $0.section) }
        if let tokenizer = header.tokenizer { sections.append((.tokenizer, "tokenizer", tokenizer.section)) }
        file.advise(sequential: true, in: header.dataStart..<file.count)
        for (i, item) in sections.enumerated() {
            do {
                try verify(item.section, name: item.place == .tokenizer ? nil : item.name)
            } catch {
                damage.append(PackDamage(place: item.place, error: error))
            }
            let next = i + 1 < sections.count ? sections[i + 1].section.offset : item.section.offset + item.section.length
            if let offset = firstNonzero(in: item.section.offset + item.section.length..<next) {
                let error = FormatError(
                    .checksumMismatch, "padding byte is not zero", path: file.path, byteOffset: offset)
                damage.append(PackDamage(place: .padding(after: item.name), error: error))
            }
            progress?(i + 1, sections.count)
        }
        return damage
    }

    /// The offset of the first nonzero byte in `range`, if any.
    func firstNonzero(in range: Range<Int>) -> Int? {
        guard !range.isEmpty else { return nil }
        return unsafe file.withUnsafeBytes(in: range) { raw in
            unsafe raw.firstIndex { $0 != 0 }.map { range.lowerBound + $0 }
        }
    }

    /// Opens and verifies the pack at `path`: a damaged header (or a file that does not open as
    /// a pack) is reported alone, since the tensor table cannot be trusted; otherwise every
    /// damaged section is reported.
    ///
    /// - Throws: only when the file cannot be opened at all (`.cannotOpen`).
    public static func validate(path: String, progress: ((Int, Int) -> Void)? = nil) throws(FormatError) -> [PackDamage] {
        let reader: PackReader
        do {
            reader = try PackReader(path: path)
        } catch where error.kind == .cannotOpen {
            throw error
        } catch {
            return [PackDamage(place: .header, error: error)]
        }
        return reader.verify(progress: progress)
    }
}
