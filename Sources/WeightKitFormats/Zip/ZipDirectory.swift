import WeightKitCore

/// The members of a zip archive, read from its central directory (zip64 aware) and checked.
///
/// Checks: the end record is found (its comment must reach the end of the file), single-disk
/// only, the directory lies before the end records, every member's local header matches its
/// central record, data ranges lie inside the member area and do not overlap (no
/// overlapping-member bombs), no encryption. Data descriptors need nothing extra: sizes and
/// CRC come from the central directory.
public struct ZipDirectory: Sendable {
    /// Members in central-directory order.
    public let entries: [ZipEntry]
    /// Absolute offset of the central directory (member data ends before it).
    public let centralDirectoryOffset: Int

    /// Cap on members: a model has thousands of tensors; a million bounds the memory the
    /// directory can make us allocate (each record is ≥ 46 bytes of file anyway).
    public static let maxEntries = 1 << 20

    /// Reads the directory of the zip archive mapped in `file`.
    public init(file: MappedFile) throws(FormatError) {
        let path = file.path
        let end = try Self.findEnd(file)
        var reader = ByteReader(file: file, range: end..<file.count, context: "zip end record")
        try reader.skip(4, "signature")
        let disk = try reader.read(UInt16.self, "disk number")
        let cdDisk = try reader.read(UInt16.self, "central directory disk")
        _ = try reader.read(UInt16.self, "entries on this disk")
        var count = Int(try reader.read(UInt16.self, "entry count"))
        var cdSize = Int(try reader.read(UInt32.self, "central directory size"))
        var cdOffset = Int(try reader.read(UInt32.self, "central directory offset"))
        guard disk == 0, cdDisk == 0 else {
            throw FormatError(.unsupported, "multi-disk zip archives are not supported", path: path, byteOffset: end + 4)
        }
        var limit = end  // the directory must end before this offset
        if let zip64 = try Self.readZip64End(file, end: end) {
            (count, cdSize, cdOffset, limit) = zip64
        } else if count == Int(ZipRecord.sentinel16) || cdSize == Int(ZipRecord.sentinel32) || cdOffset == Int(ZipRecord.sentinel32) {
            throw FormatError(.invalidHeader, "zip end record defers to zip64 records that are missing", path: path, byteOffset: end)
        }
        guard count <= Self.maxEntries else {
            throw .limit("zip entry count", value: count, cap: Self.maxEntries, at: end, path: path)
        }
        guard file.contains(offset: cdOffset, length: cdSize), cdOffset + cdSize <= limit else {
            throw FormatError(
                .invalidOffsets, "central directory at \(cdOffset) (\(cdSize) bytes) does not end before the end records at \(limit)",
                path: path, byteOffset: end)
        }
        guard count.multipliedReportingOverflow(by: ZipRecord.centralHeaderSize).partialValue <= cdSize else {
            throw FormatError(
                .sizeMismatch, "\(count) entries cannot fit in a \(cdSize)-byte central directory", path: path, byteOffset: end)
        }
        var central = ByteReader(file: file, range: cdOffset..<cdOffset + cdSize, context: "zip central directory")
        var entries: [ZipEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            var entry = try Self.readCentral(&central)
            entry.dataOffset = try Self.resolveLocal(entry, file: file)
            entries.append(entry)
        }
        try Self.checkRanges(entries, cdOffset: cdOffset, path: path)
        self.entries = entries
        self.centralDirectoryOffset = cdOffset
    }

    /// Finds the end of central directory record, whose comment must reach the end of the file.
    static func findEnd(_ file: MappedFile) throws(FormatError) -> Int {
        let count = file.count
        let found: Int? = unsafe file.withUnsafeBytes { raw in
            guard count >= ZipRecord.endSize else { return nil }
            var pos = count - ZipRecord.endSize
            let lowest = max(0, pos - Int(UInt16.max))
            while pos >= lowest {
                // SAFETY: pos + 22 <= count, so both loads are in bounds.
                let sig = UInt32(littleEndian: unsafe raw.loadUnaligned(fromByteOffset: pos, as: UInt32.self))
                let comment = Int(UInt16(littleEndian: unsafe raw.loadUnaligned(fromByteOffset: pos + 20, as: UInt16.self)))
                if sig == ZipRecord.endOfCentralDirectory, pos + ZipRecord.endSize + comment == count { return pos }
                pos -= 1
            }
            return nil
        }
        if let found { return found }
        let head = unsafe file.withUnsafeBytes(in: 0..<min(4, count)) { unsafe Array($0) }
        if head == [0x50, 0x4B, 3, 4] {
            throw FormatError(
                .truncated, "zip archive has no end of central directory record (truncated?)", path: file.path, byteOffset: count)
        }
        throw FormatError(.badMagic, "not a zip archive: no end of central directory record", path: file.path, byteOffset: 0)
    }

    /// Reads the zip64 locator and end record when present: (count, cd size, cd offset, limit).
    static func readZip64End(_ file: MappedFile, end: Int) throws(FormatError) -> (Int, Int, Int, Int)? {
        guard end >= ZipRecord.zip64LocatorSize else { return nil }
        let locatorAt = end - ZipRecord.zip64LocatorSize
        var locator = ByteReader(file: file, range: locatorAt..<end, context: "zip64 locator")
        guard try locator.read(UInt32.self, "signature") == ZipRecord.zip64Locator else { return nil }
        guard try locator.read(UInt32.self, "disk") == 0 else {
            throw FormatError(.unsupported, "multi-disk zip archives are not supported", path: file.path, byteOffset: locatorAt)
        }
        let recordAt = try locator.read(UInt64.self, "zip64 end record offset")
        guard recordAt <= UInt64(locatorAt), Int(recordAt) + ZipRecord.zip64EndSize <= locatorAt else {
            throw FormatError(
                .invalidOffsets, "zip64 end record offset \(recordAt) is not before the locator at \(locatorAt)",
                path: file.path, byteOffset: locatorAt + 8)
        }
        var record = ByteReader(file: file, range: Int(recordAt)..<locatorAt, context: "zip64 end record")
        guard try record.read(UInt32.self, "signature") == ZipRecord.zip64End else {
            throw FormatError(.invalidHeader, "no zip64 end record where the locator points", path: file.path, byteOffset: Int(recordAt))
        }
        try record.skip(8 + 2 + 2 + 4 + 4 + 8, "record size, versions, disks, entries on disk")
        let count = try record.read(UInt64.self, "entry count")
        let size = try record.read(UInt64.self, "central directory size")
        let offset = try record.read(UInt64.self, "central directory offset")
        guard count <= UInt64(maxEntries) else {
            throw .limit("zip entry count", value: count, cap: maxEntries, at: Int(recordAt) + 32, path: file.path)
        }
        guard size <= UInt64(file.count), offset <= UInt64(file.count) else {
            throw FormatError(.invalidOffsets, "zip64 central directory lies outside the file", path: file.path, byteOffset: Int(recordAt) + 40)
        }
        return (Int(count), Int(size), Int(offset), Int(recordAt))
    }
}
