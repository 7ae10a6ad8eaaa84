/// A tensor on its way to a writer: the output description plus how to produce its bytes from
/// an input tensor, converting dtype chunk by chunk so memory stays bounded.
public struct TensorPayload: Sendable {
    /// The tensor as it will be written (name, dtype, shape, byte count).
    public var info: TensorInfo
    /// Where the bytes come from.
    public let source: any TensorSource
    /// The input tensor in `source`.
    public let input: TensorInfo

    /// A payload writing `input` from `source` as `dtype` (nil keeps the input dtype), under `name`.
    ///
    /// - Throws: `.unknownDType` when the input's type is unknown (its data cannot be read),
    ///   `.unsupportedDType` when the input cannot be converted to `dtype`.
    public init(source: any TensorSource, input: TensorInfo, dtype: DType? = nil, name: String? = nil) throws(FormatError) {
        guard input.dtype != .unknown else { throw .unknownTensorType(input, in: source) }
        let target = dtype ?? input.dtype
        guard ElementConversion.canConvert(from: input.dtype, to: target) else {
            throw FormatError(
                .unsupportedDType, "cannot convert \(input.dtype.shortName) to \(target.shortName)",
                path: source.files.first, tensorName: input.name)
        }
        guard let bytes = input.shape.byteCount(of: target) else {
            throw FormatError(.shapeMismatch, "shape \(input.shape) overflows as \(target.shortName)", tensorName: input.name)
        }
        self.info = TensorInfo(name: name ?? input.name, dtype: target, shape: input.shape, byteCount: bytes)
        self.source = source
        self.input = input
    }

    /// Elements converted per chunk (1 Mi elements: at most 8 MB of output in flight).
    public static let chunkElements = 1 << 20

    /// Input bytes handed on or read between releases of the input's mapped pages (32 MB).
    static let releaseBytes = 32 << 20

    /// Calls `sink` with the output bytes in order, in chunks of bounded size.
    ///
    /// When the input is a view into a mapped file, the pages already read are released from
    /// this process's resident set as the cursor passes them (`TensorStorage.releaseResidentPages`),
    /// so converting a file larger than memory keeps resident memory at a few tens of MB beyond
    /// the writer's own: the page cache still holds them, the process no longer does.
    public func stream(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let storage = try source.storage(of: input)
        let from = input.dtype, to = info.dtype
        if from == to {
            try unsafe storage.withUnsafeBytes { src in
                var done = 0
                while done < src.count {
                    let n = min(Self.releaseBytes, src.count - done)
                    try unsafe sink(UnsafeRawBufferPointer(rebasing: src[done..<done + n]))
                    storage.slice(done..<done + n).releaseResidentPages()
                    done += n
                }
            }
            return
        }
        let total = input.elementCount
        let scratch = AlignedBuffer(count: min(total, Self.chunkElements) * to.blockBytes)
        try unsafe storage.withUnsafeBytes { src in
            var done = 0, released = 0
            while done < total {
                let n = min(Self.chunkElements, total - done)
                try unsafe scratch.withUnsafeMutableBytes { dst in
                    unsafe ElementConversion.convert(
                        src.baseAddress! + done * from.blockBytes, from: from, to: to,
                        into: dst.baseAddress!, count: n)
                    try unsafe sink(UnsafeRawBufferPointer(start: dst.baseAddress!, count: n * to.blockBytes))
                }
                done += n
                let read = done * from.blockBytes
                if read - released >= Self.releaseBytes || done == total {
                    storage.slice(released..<read).releaseResidentPages()
                    released = read
                }
            }
        }
    }
}
