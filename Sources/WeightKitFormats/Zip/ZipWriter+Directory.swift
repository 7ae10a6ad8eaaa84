import WeightKitCore

extension ZipWriter {
    /// Writes the central directory and end records (zip64 ones when needed); the caller then
    /// commits the output.
    public mutating func finish() throws {
        let cdOffset = output.written
        var directory: [UInt8] = []
        for r in records { directory += centralRecord(r) }
        try output.write(directory)
        let cdSize = directory.count
        let count = records.count
        let needs64 = forceZip64 || count >= Int(ZipRecord.sentinel16)
            || cdOffset >= Int(ZipRecord.sentinel32) || cdSize >= Int(ZipRecord.sentinel32)
        var end: [UInt8] = []
        if needs64 {
            let recordOffset = output.written
            end.le(ZipRecord.zip64End); end.le(UInt64(ZipRecord.zip64EndSize - 12))
            end.le(UInt16(0x0300 | 45)); end.le(UInt16(45))
            end.le(UInt32(0)); end.le(UInt32(0))
            end.le(UInt64(count)); end.le(UInt64(count)); end.le(UInt64(cdSize)); end.le(UInt64(cdOffset))
            end.le(ZipRecord.zip64Locator); end.le(UInt32(0)); end.le(UInt64(recordOffset)); end.le(UInt32(1))
        }
        end.le(ZipRecord.endOfCentralDirectory); end.le(UInt16(0)); end.le(UInt16(0))
        let count16 = UInt16(min(count, Int(ZipRecord.sentinel16)))
        end.le(count16); end.le(count16)
        end.le(UInt32(min(cdSize, Int(ZipRecord.sentinel32)))); end.le(UInt32(min(cdOffset, Int(ZipRecord.sentinel32))))
        end.le(UInt16(0))
        try output.write(end)
    }

    /// A central-directory record; sizes and offset that do not fit (or all three, for a
    /// zip64 member) move to the zip64 extra field, in the order the format requires.
    func centralRecord(_ r: Record) -> [UInt8] {
        let bigSizes = r.zip64 || r.uncompressed >= Int(ZipRecord.sentinel32) || r.compressed >= Int(ZipRecord.sentinel32)
        let bigOffset = forceZip64 || r.offset >= Int(ZipRecord.sentinel32)
        var extra: [UInt8] = []
        if bigSizes || bigOffset {
            var fields: [UInt8] = []
            if bigSizes { fields.le(UInt64(r.uncompressed)); fields.le(UInt64(r.compressed)) }
            if bigOffset { fields.le(UInt64(r.offset)) }
            extra.le(ZipRecord.zip64ExtraID); extra.le(UInt16(fields.count))
            extra += fields
        }
        let version = UInt16(bigSizes || bigOffset ? 45 : 20)
        var h: [UInt8] = []
        h.le(ZipRecord.centralHeader)
        h.le(0x0300 | version); h.le(version); h.le(r.flags); h.le(r.method)
        h.le(UInt16(0)); h.le(Self.dosDate); h.le(r.crc)
        h.le(bigSizes ? ZipRecord.sentinel32 : UInt32(r.compressed))
        h.le(bigSizes ? ZipRecord.sentinel32 : UInt32(r.uncompressed))
        h.le(UInt16(r.name.count)); h.le(UInt16(extra.count)); h.le(UInt16(0))
        h.le(UInt16(0)); h.le(UInt16(0)); h.le(UInt32(0o100644) << 16)
        h.le(bigOffset ? ZipRecord.sentinel32 : UInt32(r.offset))
        return h + r.name + extra
    }
}
