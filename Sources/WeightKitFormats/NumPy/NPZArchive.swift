import WeightKitCore

/// A NumPy `.npz` archive: a zip of `.npy` members, each a tensor named after the member
/// (`wte.npy` → `wte`).
///
/// Opening reads the zip directory and every member's npy header (inflating only the first
/// few kilobytes of a deflated member). Data is read on demand: a stored member is a zero-copy
/// view into the mapping (when its layout is native), a deflated one is inflated into an owned
/// buffer capped at the size its npy header declares. The CRC-32 is checked every time a
/// member's data is handed out.
public final class NPZArchive: TensorSource {
    /// One `.npy` member.
    public struct Member: Sendable {
        /// The zip entry.
        public var entry: ZipEntry
        /// The member's npy header.
        public var header: NPYHeader
        /// The tensor it presents.
        public var info: TensorInfo
    }

    /// The mapped archive.
    public let file: MappedFile
    /// Members in archive order.
    public let members: [Member]
    private let byName: [String: Int]

    public var formatName: String { "npz" }
    public var files: [String] { [file.path] }
    public var tensors: [TensorInfo] { members.map(\.info) }
    public var metadata: Metadata { Metadata() }

    /// Cap on the compression ratio of a deflated member: deflate cannot exceed about 1032:1
    /// (RFC 1951: a 258-byte match per ~2 bits), so a member claiming more is forged, and
    /// refusing it bounds what a member can make us allocate to ~1000× the archive's size.
    public static let maxDeflateRatio = 1032

    /// Maps `path` and reads the directory and every member's npy header.
    public init(path: String) throws(FormatError) {
        file = try MappedFile(path: path)
        let directory = try ZipDirectory(file: file)
        var members: [Member] = []
        var byName: [String: Int] = [:]
        for entry in directory.entries {
            let member = try Self.member(entry, file: file)
            guard byName.updateValue(members.count, forKey: member.info.name) == nil else {
                throw FormatError(
                    .duplicateName, "two members are named \"\(entry.name)\"", path: path,
                    byteOffset: entry.localHeaderOffset, tensorName: member.info.name)
            }
            members.append(member)
        }
        self.members = members
        self.byName = byName
    }

    public func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard let index = byName[tensor.name] else {
            throw FormatError(.tensorNotFound, "no member \"\(tensor.name).npy\"", path: file.path, tensorName: tensor.name)
        }
        let member = members[index]
        try file.checkNotShrunk(tensorName: tensor.name)
        if member.entry.isStored {
            try checkStoredCRC(member)
            let range = member.entry.dataOffset + member.header.dataOffset..<member.entry.dataRange.upperBound
            return NPYLayout.storage(member.header, file: file, range: range)
        }
        return NPYLayout.storage(member.header, owned: try inflate(member))
    }

    /// Reads and checks the npy header of one entry.
    static func member(_ entry: ZipEntry, file: MappedFile) throws(FormatError) -> Member {
        let path = file.path
        guard entry.name.hasSuffix(".npy") else {
            throw FormatError(
                .unsupported, "member \"\(entry.name)\" is not a .npy array", path: path,
                byteOffset: entry.localHeaderOffset, tensorName: entry.name)
        }
        let name = String(entry.name.dropLast(4))
        let header: NPYHeader
        do throws(FormatError) {
            header = entry.isStored ? try storedHeader(entry, file: file) : try deflatedHeader(entry, file: file)
        } catch {
            throw error.about(tensor: name)
        }
        let (total, overflow) = header.dataOffset.addingReportingOverflow(header.dataByteCount)
        if overflow || entry.uncompressedSize < total {
            throw FormatError(
                .sizeMismatch,
                "member \"\(entry.name)\" is \(entry.uncompressedSize) bytes, but its npy header declares \(header.dataOffset) + \(header.dataByteCount) (shape \(header.shape) of \(header.dtype.shortName))",
                path: path, byteOffset: entry.localHeaderOffset, tensorName: name)
        }
        if entry.uncompressedSize > total {
            throw FormatError(
                entry.isStored ? .sizeMismatch : .limitExceeded,
                "member \"\(entry.name)\" \(entry.isStored ? "is" : "inflates to") \(entry.uncompressedSize) bytes, more than the \(total) its npy header declares (shape \(header.shape) of \(header.dtype.shortName))",
                path: path, byteOffset: entry.localHeaderOffset, tensorName: name)
        }
        let fileOffset = entry.isStored && header.isNativeLayout ? entry.dataOffset + header.dataOffset : nil
        let info = TensorInfo(
            name: name, dtype: header.dtype, shape: header.shape, byteCount: header.dataByteCount, fileOffset: fileOffset)
        return Member(entry: entry, header: header, info: info)
    }

    static func storedHeader(_ entry: ZipEntry, file: MappedFile) throws(FormatError) -> NPYHeader {
        guard entry.compressedSize == entry.uncompressedSize else {
            throw FormatError(
                .sizeMismatch,
                "stored member \"\(entry.name)\" has compressed size \(entry.compressedSize) but uncompressed size \(entry.uncompressedSize)",
                path: file.path, byteOffset: entry.localHeaderOffset)
        }
        let range = entry.dataOffset..<entry.dataOffset + min(entry.compressedSize, NPYHeader.maxPrefixLength)
        do throws(FormatError) {
            return try unsafe file.withUnsafeBytes(in: range) { raw throws(FormatError) in try unsafe NPYHeader(parsing: raw, path: file.path) }
        } catch {
            throw error.shifted(by: entry.dataOffset)
        }
    }

    static func deflatedHeader(_ entry: ZipEntry, file: MappedFile) throws(FormatError) -> NPYHeader {
        let (cap, overflow) = entry.compressedSize.multipliedReportingOverflow(by: maxDeflateRatio)
        guard overflow || entry.uncompressedSize <= cap + 1024 else {
            throw FormatError(
                .limitExceeded,
                "member \"\(entry.name)\" claims \(entry.uncompressedSize) bytes from \(entry.compressedSize) compressed, beyond deflate's \(maxDeflateRatio):1 maximum",
                path: file.path, byteOffset: entry.localHeaderOffset)
        }
        let prefix = AlignedBuffer(count: min(entry.uncompressedSize, NPYHeader.maxPrefixLength))
        let produced = try inflate(entry, file: file, into: prefix, detectOverflow: false).produced
        do throws(FormatError) {
            return try unsafe prefix.withUnsafeBytes { raw throws(FormatError) in
                try unsafe NPYHeader(parsing: UnsafeRawBufferPointer(rebasing: raw[0..<produced]), path: file.path)
            }
        } catch {
            // Offsets inside inflated data are not file offsets: point at the member instead.
            var moved = error
            moved.byteOffset = entry.dataOffset
            moved.message += " (at inflated byte \(error.byteOffset ?? 0) of member \"\(entry.name)\")"
            throw moved
        }
    }
}
