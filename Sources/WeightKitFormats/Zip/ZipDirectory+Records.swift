import WeightKitCore

extension ZipDirectory {
    /// Reads one central-directory record (and its zip64 extra field) at the reader's cursor.
    static func readCentral(_ r: inout ByteReader) throws(FormatError) -> ZipEntry {
        let at = r.offset
        let path = r.file.path
        guard try r.read(UInt32.self, "record signature") == ZipRecord.centralHeader else {
            throw FormatError(.invalidHeader, "expected a central directory record (PK\\1\\2)", path: path, byteOffset: at)
        }
        try r.skip(4, "versions")
        let flags = try r.read(UInt16.self, "flags")
        let method = try r.read(UInt16.self, "method")
        try r.skip(4, "time and date")
        let crc = try r.read(UInt32.self, "CRC-32")
        var compressed = UInt64(try r.read(UInt32.self, "compressed size"))
        var uncompressed = UInt64(try r.read(UInt32.self, "uncompressed size"))
        let nameLength = Int(try r.read(UInt16.self, "name length"))
        let extraLength = Int(try r.read(UInt16.self, "extra length"))
        let commentLength = Int(try r.read(UInt16.self, "comment length"))
        let disk = try r.read(UInt16.self, "disk")
        try r.skip(6, "attributes")
        var local = UInt64(try r.read(UInt32.self, "local header offset"))
        let nameBytes = try r.readBytes(nameLength, "name")
        let extraAt = r.offset
        let extra = try r.readBytes(extraLength, "extra field")
        try r.skip(commentLength, "comment")
        let name = try decodeName(nameBytes, flags: flags, path: path, at: at + ZipRecord.centralHeaderSize)
        guard flags & ZipRecord.encryptedFlag == 0 else {
            throw FormatError(.unsupported, "member \"\(name)\" is encrypted", path: path, byteOffset: at + 8, tensorName: name)
        }
        guard method == ZipRecord.stored || method == ZipRecord.deflated else {
            throw FormatError(
                .unsupported, "member \"\(name)\" uses compression method \(method); only stored (0) and deflate (8) are supported",
                path: path, byteOffset: at + 10, tensorName: name)
        }
        // zip64: each 32-bit field set to the sentinel is replaced, in this order, by a 64-bit
        // value from the 0x0001 extra field.
        var fields: [WritableKeyPath<Zip64Fields, UInt64>] = []
        if uncompressed == UInt64(ZipRecord.sentinel32) { fields.append(\.uncompressed) }
        if compressed == UInt64(ZipRecord.sentinel32) { fields.append(\.compressed) }
        if local == UInt64(ZipRecord.sentinel32) { fields.append(\.local) }
        var values = Zip64Fields(uncompressed: uncompressed, compressed: compressed, local: local)
        if !fields.isEmpty || disk == ZipRecord.sentinel16 {
            try readZip64Extra(extra, into: &values, fields: fields, path: path, at: extraAt, name: name)
        } else if disk != 0 {
            throw FormatError(.unsupported, "member \"\(name)\" is on another disk", path: path, byteOffset: at + 34)
        }
        (uncompressed, compressed, local) = (values.uncompressed, values.compressed, values.local)
        guard compressed <= UInt64(Int.max), uncompressed <= UInt64(Int.max), local <= UInt64(Int.max) else {
            throw FormatError(.invalidOffsets, "member \"\(name)\" sizes exceed 2^63", path: path, byteOffset: at, tensorName: name)
        }
        return ZipEntry(
            name: name, method: method, flags: flags, crc32: crc, compressedSize: Int(compressed),
            uncompressedSize: Int(uncompressed), localHeaderOffset: Int(local), dataOffset: 0)
    }

    struct Zip64Fields {
        var uncompressed: UInt64, compressed: UInt64, local: UInt64
    }

    static func readZip64Extra(
        _ extra: [UInt8], into values: inout Zip64Fields, fields: [WritableKeyPath<Zip64Fields, UInt64>],
        path: String, at base: Int, name: String
    ) throws(FormatError) {
        var i = 0
        func u16(_ p: Int) -> Int { Int(extra[p]) | Int(extra[p + 1]) << 8 }
        while i + 4 <= extra.count {
            let id = u16(i), size = u16(i + 2)
            guard i + 4 + size <= extra.count else { break }
            if id == Int(ZipRecord.zip64ExtraID) {
                guard size >= fields.count * 8 else {
                    throw FormatError(
                        .invalidHeader, "member \"\(name)\" zip64 extra field has \(size) bytes, needs \(fields.count * 8)",
                        path: path, byteOffset: base + i, tensorName: name)
                }
                for (k, field) in fields.enumerated() {
                    var v: UInt64 = 0
                    for b in 0..<8 { v |= UInt64(extra[i + 4 + k * 8 + b]) << (8 * UInt64(b)) }
                    values[keyPath: field] = v
                }
                return
            }
            i += 4 + size
        }
        if fields.isEmpty { return }
        throw FormatError(
            .invalidHeader, "member \"\(name)\" needs a zip64 extra field but has none", path: path, byteOffset: base, tensorName: name)
    }

    /// Member names are UTF-8 when flag bit 11 is set; otherwise ASCII is accepted as is and
    /// other bytes must still be valid UTF-8 (CP437 names are not supported).
    static func decodeName(_ bytes: [UInt8], flags: UInt16, path: String, at offset: Int) throws(FormatError) -> String {
        guard let name = String(validating: bytes, as: UTF8.self) else {
            throw FormatError(.invalidHeader, "member name is not valid UTF-8", path: path, byteOffset: offset)
        }
        guard !name.contains("\0") else {
            throw FormatError(.invalidHeader, "member name contains a NUL byte", path: path, byteOffset: offset)
        }
        return name
    }

    /// Checks the local header of `entry` against its central record; returns the data offset.
    static func resolveLocal(_ entry: ZipEntry, file: MappedFile) throws(FormatError) -> Int {
        let at = entry.localHeaderOffset
        let path = file.path
        guard file.contains(offset: at, length: ZipRecord.localHeaderSize) else {
            throw FormatError(
                .invalidOffsets, "member \"\(entry.name)\" local header at \(at) lies outside the file",
                path: path, tensorName: entry.name)
        }
        var r = ByteReader(file: file, range: at..<file.count, context: "zip local header")
        guard try r.read(UInt32.self, "signature") == ZipRecord.localHeader else {
            throw FormatError(
                .invalidHeader, "expected a local file header (PK\\3\\4) for member \"\(entry.name)\"",
                path: path, byteOffset: at, tensorName: entry.name)
        }
        try r.skip(4, "version and flags")
        let method = try r.read(UInt16.self, "method")
        try r.skip(16, "time, date, CRC and sizes")
        let nameLength = Int(try r.read(UInt16.self, "name length"))
        let extraLength = Int(try r.read(UInt16.self, "extra length"))
        let name = try r.readBytes(nameLength, "name")
        try r.skip(extraLength, "extra field")
        guard name == Array(entry.name.utf8), method == entry.method else {
            throw FormatError(
                .invalidHeader, "local header of member \"\(entry.name)\" disagrees with the central directory (name or method)",
                path: path, byteOffset: at, tensorName: entry.name)
        }
        guard file.contains(offset: r.offset, length: entry.compressedSize) else {
            throw FormatError(
                .invalidOffsets, "member \"\(entry.name)\" data (\(entry.compressedSize) bytes at \(r.offset)) runs past the end of the file",
                path: path, byteOffset: r.offset, tensorName: entry.name)
        }
        return r.offset
    }

    /// Member data must end before the central directory and must not overlap other members.
    static func checkRanges(_ entries: [ZipEntry], cdOffset: Int, path: String) throws(FormatError) {
        let ordered = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        for (i, entry) in ordered.enumerated() {
            let next = i + 1 < ordered.count ? ordered[i + 1].localHeaderOffset : cdOffset
            guard entry.dataRange.upperBound <= next else {
                throw FormatError(
                    .invalidOffsets,
                    "member \"\(entry.name)\" data ends at \(entry.dataRange.upperBound), past the next record at \(next) (overlapping members)",
                    path: path, byteOffset: entry.dataOffset, tensorName: entry.name)
            }
        }
    }
}
