import WeightKitCore

/// One member of a zip archive, from its central-directory record (with zip64 values applied)
/// and its local header (which gives where the data starts).
public struct ZipEntry: Sendable, Hashable {
    /// The member name (UTF-8).
    public var name: String
    /// Compression method: 0 stored, 8 deflated.
    public var method: UInt16
    /// General-purpose flags (bit 3: data descriptor follows the data).
    public var flags: UInt16
    /// CRC-32 of the uncompressed data.
    public var crc32: UInt32
    /// Bytes of data in the archive.
    public var compressedSize: Int
    /// Bytes once uncompressed.
    public var uncompressedSize: Int
    /// Absolute offset of the local file header.
    public var localHeaderOffset: Int
    /// Absolute offset of the first data byte (after the local header, name and extra field).
    public var dataOffset: Int

    /// The data's byte range in the archive.
    public var dataRange: Range<Int> { dataOffset..<dataOffset + compressedSize }
    /// True when the data is stored uncompressed.
    public var isStored: Bool { method == ZipRecord.stored }
}

/// Signatures, methods and limits of the zip format (PKWARE APPNOTE 6.3).
public enum ZipRecord {
    /// Local file header `PK\3\4`.
    public static let localHeader: UInt32 = 0x0403_4B50
    /// Central directory file header `PK\1\2`.
    public static let centralHeader: UInt32 = 0x0201_4B50
    /// End of central directory `PK\5\6`.
    public static let endOfCentralDirectory: UInt32 = 0x0605_4B50
    /// Zip64 end of central directory record `PK\6\6`.
    public static let zip64End: UInt32 = 0x0606_4B50
    /// Zip64 end of central directory locator `PK\6\7`.
    public static let zip64Locator: UInt32 = 0x0706_4B50
    /// Data descriptor `PK\7\8`.
    public static let dataDescriptor: UInt32 = 0x0807_4B50
    /// Extra field ID of the zip64 extended information.
    public static let zip64ExtraID: UInt16 = 0x0001
    /// Extra field ID used to pad a local header so stored data is aligned (Android's zipalign).
    public static let alignmentExtraID: UInt16 = 0xD935
    /// Method 0.
    public static let stored: UInt16 = 0
    /// Method 8.
    public static let deflated: UInt16 = 8
    /// Flag bit 0: the member is encrypted.
    public static let encryptedFlag: UInt16 = 1 << 0
    /// Flag bit 3: sizes and CRC follow the data in a descriptor.
    public static let descriptorFlag: UInt16 = 1 << 3
    /// Flag bit 11: the name is UTF-8.
    public static let utf8Flag: UInt16 = 1 << 11
    /// Fixed part of a local header.
    public static let localHeaderSize = 30
    /// Fixed part of a central directory record.
    public static let centralHeaderSize = 46
    /// Size of the end of central directory record without its comment.
    public static let endSize = 22
    /// Size of the zip64 end record (without extensible data) and locator.
    public static let zip64EndSize = 56, zip64LocatorSize = 20
    /// The 32-bit sentinel saying "see the zip64 extra field".
    public static let sentinel32: UInt32 = 0xFFFF_FFFF
    /// The 16-bit sentinel for entry counts.
    public static let sentinel16: UInt16 = 0xFFFF
}
