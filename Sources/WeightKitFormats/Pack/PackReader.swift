#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightKitCore

/// A WeightKit pack (`.wkp`) opened for reading: the validated header, raw tensors as zero-copy
/// views into the mapping, deflated tensors inflated on demand.
///
/// Opening reads only the prefix and the JSON header (and checks the header CRC-32). Tensor
/// CRCs are checked lazily: always for deflated tensors (as they are inflated), for raw tensors
/// only when `verifyOnLoad` is set, and for everything by `verify()`.
public final class PackReader: TensorSource {
    /// The mapped file.
    public let file: MappedFile
    /// The validated header.
    public let header: PackHeader
    /// Whether `storage(of:)` checks a raw tensor's CRC-32 before returning it.
    public let verifyOnLoad: Bool
    public let tensors: [TensorInfo]
    private let index: [String: Int]

    public var formatName: String { "wkp" }
    public var files: [String] { [file.path] }
    public var metadata: Metadata { header.metadata }
    /// The architecture config, or nil for a plain tensor set.
    public var config: JSONObject? { header.config }
    /// True when the pack carries a tokenizer.
    public var hasTokenizer: Bool { header.tokenizer != nil }

    /// Maps `path` and validates its header; reads no tensor data.
    public init(path: String, verifyOnLoad: Bool = false) throws(FormatError) {
        file = try MappedFile(path: path)
        header = try PackHeader(file: file)
        self.verifyOnLoad = verifyOnLoad
        tensors = header.tensors.map(\.info)
        var index: [String: Int] = [:]
        index.reserveCapacity(tensors.count)
        for (i, t) in tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    /// The header entry of the tensor called `name`.
    public func entry(named name: String) -> PackTensorEntry? {
        index[name].map { header.tensors[$0] }
    }

    public func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard let entry = entry(named: tensor.name) else {
            throw FormatError(.tensorNotFound, "no tensor of that name in this pack", path: file.path, tensorName: tensor.name)
        }
        return try load(entry.section, name: tensor.name, verify: verifyOnLoad)
    }

    /// The embedded tokenizer.json text, or nil when the pack has no tokenizer. Always checks its
    /// CRC-32 (it is small), and that it is UTF-8.
    public func tokenizerJSON() throws -> String? {
        guard let tokenizer = header.tokenizer else { return nil }
        guard tokenizer.format == "tokenizer.json" else {
            throw FormatError(
                .unsupported, "tokenizer format \"\(tokenizer.format)\" is not known to this reader", path: file.path)
        }
        let storage = try load(tokenizer.section, name: nil, verify: true)
        let bytes = storage.bytes
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FormatError(.invalidHeader, "the tokenizer is not valid UTF-8", path: file.path, byteOffset: tokenizer.section.offset)
        }
        return text
    }

    /// The decoded bytes of a section: a view for raw data, an owned buffer for deflated data.
    func load(_ section: PackSection, name: String?, verify: Bool) throws(FormatError) -> TensorStorage {
        try file.checkNotShrunk(tensorName: name)
        switch section.encoding {
        case .raw:
            // SAFETY of the view: PackHeader checked every section lies inside the file.
            let storage = TensorStorage(file: file, range: section.range)
            if verify { try check(storage, section, name: name) }
            return storage
        case .deflate:
            // The ratio cap bounds rawLength by the file size; a claim beyond physical memory
            // could still not be met, so refuse it rather than let the allocation fail.
            guard section.rawLength <= Self.physicalMemory else {
                throw FormatError(
                    .limitExceeded,
                    "inflating needs \(formatBytes(section.rawLength)), more than this machine's memory (\(formatBytes(Self.physicalMemory)))",
                    path: file.path, byteOffset: section.offset, tensorName: name)
            }
            let buffer = AlignedBuffer(count: section.rawLength)
            do {
                try unsafe file.withUnsafeBytes(in: section.range) { stored throws(ZlibStream.Failure) in
                    try unsafe buffer.withUnsafeMutableBytes { out throws(ZlibStream.Failure) in
                        try unsafe ZlibStream.inflate(stored, into: out)
                    }
                }
            } catch {
                throw inflateFailure(error, section, name: name)
            }
            let storage = TensorStorage(buffer: buffer)
            try check(storage, section, name: name)
            return storage
        }
    }

    /// Checks a section's CRC-32 without keeping its decoded bytes: deflated data is inflated
    /// in 1 MiB pieces, so memory stays bounded whatever the header claims.
    func verify(_ section: PackSection, name: String?) throws(FormatError) {
        guard section.encoding == .deflate else {
            // SAFETY of the view: PackHeader checked every section lies inside the file.
            return try check(TensorStorage(file: file, range: section.range), section, name: name)
        }
        var crc: UInt32 = 0
        do {
            try unsafe file.withUnsafeBytes(in: section.range) { stored throws(ZlibStream.Failure) in
                try unsafe ZlibStream.inflate(stored, size: section.rawLength) { piece in crc = unsafe CRC32.update(crc, piece) }
            }
        } catch {
            throw inflateFailure(error, section, name: name)
        }
        guard crc == section.crc32 else { throw mismatch(crc, section, name: name) }
    }

    func inflateFailure(_ error: ZlibStream.Failure, _ section: PackSection, name: String?) -> FormatError {
        FormatError(
            .checksumMismatch, "stored data cannot be inflated: \(error.message)",
            path: file.path, byteOffset: section.offset, tensorName: name)
    }

    func mismatch(_ crc: UInt32, _ section: PackSection, name: String?) -> FormatError {
        FormatError(
            .checksumMismatch,
            "CRC-32 of the data is \(PackHeader.hex(crc)) but the header says \(PackHeader.hex(section.crc32)): the data is damaged",
            path: file.path, byteOffset: section.offset, tensorName: name)
    }

    /// Bytes of physical memory (calls `sysconf`).
    static let physicalMemory: Int = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Throws `.checksumMismatch` unless `storage` matches the section's CRC-32.
    func check(_ storage: TensorStorage, _ section: PackSection, name: String?) throws(FormatError) {
        let crc = unsafe storage.withUnsafeBytes { unsafe CRC32.update(0, $0) }
        guard crc == section.crc32 else { throw mismatch(crc, section, name: name) }
    }
}
