import WeightKitCore

/// Streams a zip archive into an `OutputFile`, without seeking back.
///
/// Stored members get a complete local header (their CRC-32 is computed in a first pass over
/// the bytes, so no data descriptor is needed) padded with an alignment extra field (0xD935,
/// as Android's zipalign) so the data starts on a 64-byte boundary: with a 64-byte-aligned npy
/// header inside, array data can be used straight from a mapping. Deflated members are
/// streamed once with a data descriptor after them. Zip64 extra fields and end records are
/// written when a size, offset or the member count needs them (or always, with
/// `forceZip64`, which tests use). Times are fixed at 1980-01-01 so output is reproducible.
public struct ZipWriter {
    /// A member's producer: calls its argument with the member's bytes, in order.
    public typealias Body = ((UnsafeRawBufferPointer) throws -> Void) throws -> Void

    struct Record {
        var name: [UInt8]
        var method: UInt16
        var flags: UInt16
        var crc: UInt32
        var compressed: Int
        var uncompressed: Int
        var offset: Int
        var zip64: Bool
    }

    /// The archive being written.
    public let output: OutputFile
    let forceZip64: Bool
    var records: [Record] = []
    /// Data alignment of stored members.
    static let alignment = 64
    /// DOS date 1980-01-01 (time 00:00).
    static let dosDate: UInt16 = 0x21
    /// Deflated members whose uncompressed size reaches this get zip64 fields up front:
    /// deflate can expand incompressible data by ~0.03%, so the compressed size might not fit
    /// 32 bits even though the uncompressed one does.
    static let deflateZip64Threshold = 0xF000_0000

    /// Starts an archive in `output`.
    public init(output: OutputFile, forceZip64: Bool = false) {
        self.output = output
        self.forceZip64 = forceZip64
    }

    /// Adds a stored member of `size` bytes; `body` is called twice (CRC pass, write pass).
    public mutating func addStored(name: String, size: Int, body: Body) throws {
        var crc: UInt32 = 0
        var seen = 0
        try unsafe body { chunk in
            crc = unsafe CRC32.update(crc, chunk)
            seen += chunk.count
        }
        guard seen == size else { preconditionFailure("zip member produced \(seen) bytes, declared \(size)") }
        let zip64 = forceZip64 || size >= Int(ZipRecord.sentinel32)
        let nameBytes = Array(name.utf8)
        let record = Record(
            name: nameBytes, method: ZipRecord.stored, flags: Self.nameFlags(nameBytes), crc: crc,
            compressed: size, uncompressed: size, offset: output.written, zip64: zip64)
        var extra: [UInt8] = []
        if zip64 {
            extra.le(ZipRecord.zip64ExtraID); extra.le(UInt16(16)); extra.le(UInt64(size)); extra.le(UInt64(size))
        }
        let unpadded = record.offset + ZipRecord.localHeaderSize + nameBytes.count + extra.count
        let pad = (Self.alignment - (unpadded + 4) % Self.alignment) % Self.alignment
        extra.le(ZipRecord.alignmentExtraID); extra.le(UInt16(pad)); extra += [UInt8](repeating: 0, count: pad)
        try output.write(localHeader(record, extra: extra))
        var written = 0
        try unsafe body { chunk in
            try unsafe output.write(chunk)
            written += chunk.count
        }
        guard written == size else { preconditionFailure("zip member produced \(written) bytes, declared \(size)") }
        records.append(record)
    }

    /// Adds a deflated member of `size` uncompressed bytes, followed by a data descriptor.
    public mutating func addDeflated(name: String, size: Int, level: Int32 = -1, body: Body) throws {
        let zip64 = forceZip64 || size >= Self.deflateZip64Threshold
        let nameBytes = Array(name.utf8)
        var record = Record(
            name: nameBytes, method: ZipRecord.deflated, flags: Self.nameFlags(nameBytes) | ZipRecord.descriptorFlag,
            crc: 0, compressed: 0, uncompressed: 0, offset: output.written, zip64: zip64)
        var extra: [UInt8] = []
        if zip64 {
            extra.le(ZipRecord.zip64ExtraID); extra.le(UInt16(16)); extra.le(UInt64(0)); extra.le(UInt64(0))
        }
        try output.write(localHeader(record, extra: extra))
        let start = output.written
        var deflater = try Deflater(level: level)
        var crc: UInt32 = 0
        var seen = 0
        let output = self.output
        try unsafe body { chunk in
            crc = unsafe CRC32.update(crc, chunk)
            seen += chunk.count
            try unsafe deflater.compress(chunk, finish: false) { out in try unsafe output.write(out) }
        }
        try unsafe deflater.compress(UnsafeRawBufferPointer(start: nil, count: 0), finish: true) { out in try unsafe output.write(out) }
        guard seen == size else { preconditionFailure("zip member produced \(seen) bytes, declared \(size)") }
        record.crc = crc
        record.uncompressed = size
        record.compressed = output.written - start
        guard zip64 || record.compressed < Int(ZipRecord.sentinel32) else {
            throw FormatError.writeFailed(output.path, reason: "deflated member \"\(name)\" outgrew 4 GiB without zip64 fields")
        }
        var descriptor: [UInt8] = []
        descriptor.le(ZipRecord.dataDescriptor); descriptor.le(crc)
        if zip64 {
            descriptor.le(UInt64(record.compressed)); descriptor.le(UInt64(record.uncompressed))
        } else {
            descriptor.le(UInt32(record.compressed)); descriptor.le(UInt32(record.uncompressed))
        }
        try output.write(descriptor)
        records.append(record)
    }

    static func nameFlags(_ name: [UInt8]) -> UInt16 {
        name.allSatisfy { $0 < 0x80 } ? 0 : ZipRecord.utf8Flag
    }

    func localHeader(_ r: Record, extra: [UInt8]) -> [UInt8] {
        var h: [UInt8] = []
        let deferred = r.flags & ZipRecord.descriptorFlag != 0
        h.le(ZipRecord.localHeader)
        h.le(UInt16(r.zip64 ? 45 : 20)); h.le(r.flags); h.le(r.method)
        h.le(UInt16(0)); h.le(Self.dosDate)
        h.le(deferred ? 0 : r.crc)
        let size32: UInt32 = deferred && !r.zip64 ? 0 : (r.zip64 ? ZipRecord.sentinel32 : UInt32(r.uncompressed))
        h.le(r.zip64 || deferred ? size32 : UInt32(r.compressed)); h.le(size32)
        h.le(UInt16(r.name.count)); h.le(UInt16(extra.count))
        return h + r.name + extra
    }
}

extension [UInt8] {
    /// Appends `value` little-endian.
    mutating func le<T: FixedWidthInteger>(_ value: T) {
        var v = value.littleEndian
        for _ in 0..<MemoryLayout<T>.size {
            append(UInt8(truncatingIfNeeded: v))
            v = v >> 8
        }
    }
}
