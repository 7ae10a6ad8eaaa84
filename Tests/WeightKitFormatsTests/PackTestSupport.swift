import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// Helpers for the pack tests: hand-built packs with chosen headers, and quick conversions.
enum PackTestSupport {
    /// A pack with `json` as its header text (padded with spaces to 64 bytes) and `data` after
    /// it, with a correct header CRC unless `crc` is given.
    static func craft(
        json: String, data: [UInt8] = [], major: UInt8 = 1, minor: UInt8 = 0, crc: UInt32? = nil
    ) -> [UInt8] {
        var text = Array(json.utf8)
        text += [UInt8](repeating: 0x20, count: (64 - (24 + text.count) % 64) % 64)
        var prefix = Array("WKPACK".utf8) + [major, minor]
        prefix += withUnsafeBytes(of: UInt64(text.count).littleEndian) { Array($0) }
        prefix += [0, 0, 0, 0]
        let sum = crc ?? CRC32.update(CRC32.checksum(prefix), text)
        prefix += withUnsafeBytes(of: sum.littleEndian) { Array($0) }
        return prefix + text + data
    }

    /// A one-tensor header: `w`, f32 `[2]`, 8 raw bytes at 0, with `extra` JSON spliced into the
    /// tensor entry and `top` into the root object.
    static func oneTensor(
        dtype: String = "f32", shape: String = "[2]", offset: Int = 0, length: Int = 8,
        encoding: String = "raw", crc: UInt32 = crcOf12, extra: String = "", top: String = "",
        version: String = "[1,0]"
    ) -> String {
        """
        {"format_version":\(version),"config":null,"metadata":{},\(top)"tensors":[{"name":"w","dtype":"\(dtype)",\
        "shape":\(shape),"offset":\(offset),"length":\(length),"encoding":"\(encoding)","crc32":\(crc)\(extra)}]}
        """
    }

    /// The bytes of f32 [1.0, 2.0].
    static let data12: [UInt8] = [0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]
    /// Their CRC-32.
    static let crcOf12 = CRC32.checksum(data12)

    /// Writes `bytes` to a temporary file and opens it as a pack; returns the error, if any.
    static func openError(_ bytes: [UInt8], in folder: TemporaryFolder, name: String = "t.wkp") -> FormatError? {
        let path = folder.file(name)
        try? writeBytes(bytes, to: path)
        do {
            _ = try PackReader(path: path)
            return nil
        } catch {
            return error
        }
    }

    /// Converts `input` to `output` as `format` through the registry, every tensor as is.
    @discardableResult
    static func convert(_ input: String, to output: String, format: TensorFormat, options: WriteOptions = WriteOptions()) throws -> WriteReport {
        let source = try FormatRegistry.open(path: input)
        let payloads = try source.tensors.map { try TensorPayload(source: source, input: $0) }
        return try FormatRegistry.write(payloads, metadata: source.metadata, to: output, format: format, options: options)
    }

    /// Lowercase hex of `bytes`.
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

extension CRC32 {
    /// Continues `crc` over an array.
    static func update(_ crc: UInt32, _ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(crc, $0) }
    }
}
