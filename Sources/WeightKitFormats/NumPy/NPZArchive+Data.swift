import WeightKitCore

extension NPZArchive {
    /// Inflates a deflated member from its start into `buffer` (a prefix when `detectOverflow`
    /// is false).
    static func inflate(
        _ entry: ZipEntry, file: MappedFile, into buffer: AlignedBuffer, detectOverflow: Bool
    ) throws(FormatError) -> InflateResult {
        do throws(ZlibError) {
            var inflater = try Inflater()
            return try unsafe file.withUnsafeBytes(in: entry.dataRange) { input throws(ZlibError) in
                try unsafe buffer.withUnsafeMutableBytes { output throws(ZlibError) in
                    try unsafe inflater.inflate(input, into: output, probe: detectOverflow)
                }
            }
        } catch {
            throw corrupt(entry, file: file, error)
        }
    }

    static func corrupt(_ entry: ZipEntry, file: MappedFile, _ error: ZlibError) -> FormatError {
        FormatError(
            .invalidHeader, "member \"\(entry.name)\" is not a valid deflate stream: \(error.message)",
            path: file.path, byteOffset: entry.dataOffset, tensorName: String(entry.name.dropLast(4)))
    }

    /// Inflates a deflated member's data (after its npy header) into a new buffer of exactly
    /// the size the header declares, checking the CRC-32 over the whole member.
    func inflate(_ member: Member) throws(FormatError) -> AlignedBuffer {
        let entry = member.entry, header = member.header, name = member.info.name
        let headerBytes = AlignedBuffer(count: header.dataOffset)
        let data = AlignedBuffer(count: header.dataByteCount)
        var first = InflateResult(consumed: 0, produced: 0, finished: false, exceeded: false)
        var second = first
        do throws(ZlibError) {
            var inflater = try Inflater()
            try unsafe file.withUnsafeBytes(in: entry.dataRange) { input throws(ZlibError) in
                first = try unsafe headerBytes.withUnsafeMutableBytes { out throws(ZlibError) in
                    try unsafe inflater.inflate(input, into: out, probe: false)
                }
                let rest = unsafe UnsafeRawBufferPointer(rebasing: input[first.consumed...])
                second = try unsafe data.withUnsafeMutableBytes { out throws(ZlibError) in
                    try unsafe inflater.inflate(rest, into: out, probe: true)
                }
            }
        } catch {
            throw Self.corrupt(entry, file: file, error)
        }
        let produced = first.produced + second.produced
        let expected = header.dataOffset + header.dataByteCount
        if second.exceeded {
            throw FormatError(
                .limitExceeded, "member \"\(entry.name)\" inflates beyond the \(expected) bytes its npy header declares (decompression bomb?)",
                path: file.path, byteOffset: entry.dataOffset, tensorName: name)
        }
        guard second.finished, produced == expected else {
            throw FormatError(
                second.finished ? .sizeMismatch : .truncated,
                "member \"\(entry.name)\" inflates to \(produced) bytes\(second.finished ? "" : " before its deflate stream breaks off"); its npy header declares \(expected)",
                path: file.path, byteOffset: entry.dataOffset, tensorName: name)
        }
        var crc = unsafe headerBytes.withUnsafeBytes { unsafe CRC32.update(0, $0) }
        crc = unsafe data.withUnsafeBytes { unsafe CRC32.update(crc, $0) }
        try checkCRC(crc, member)
        return data
    }

    /// Checks the CRC-32 of a stored member's bytes in the mapping.
    func checkStoredCRC(_ member: Member) throws(FormatError) {
        let crc = unsafe file.withUnsafeBytes(in: member.entry.dataRange) { unsafe CRC32.update(0, $0) }
        try checkCRC(crc, member)
    }

    func checkCRC(_ crc: UInt32, _ member: Member) throws(FormatError) {
        guard crc == member.entry.crc32 else {
            throw FormatError(
                .checksumMismatch,
                "member \"\(member.entry.name)\" has CRC-32 \(hex32(crc)), but the zip directory records \(hex32(member.entry.crc32))",
                path: file.path, byteOffset: member.entry.dataOffset, tensorName: member.info.name)
        }
    }
}

/// `0x1234abcd`.
func hex32(_ v: UInt32) -> String {
    let digits = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}
