import Synchronization
import WeightKitCore

/// A tensor source presenting another source's tensors with some of them block-quantized.
///
/// Quantizing happens in `storage(of:)`, one tensor at a time (memory stays at one tensor's
/// quantized size plus the input mapping), so a `TensorPayload` over this source streams
/// quantized bytes to any writer that can hold blocks. Rows are split over a caller-supplied
/// splitter (the runtime's `Parallel`); the error of each quantized tensor is recorded.
public final class QuantizedTensorSource: TensorSource {
    /// Calls its body on disjoint ranges covering `0..<count`, possibly concurrently.
    public typealias RowSplitter = @Sendable (_ count: Int, _ body: @Sendable (Range<Int>) -> Void) -> Void

    /// The source the float tensors come from.
    public let base: any TensorSource
    /// Tensors as presented: quantized ones carry their block dtype and byte count.
    public let tensors: [TensorInfo]
    private let inputs: [String: TensorInfo]
    private let split: RowSplitter
    private let errors = Mutex<[String: QuantErrorStats]>([:])

    /// Presents `base` with the tensors named in `targets` quantized to their block dtype.
    ///
    /// - Throws: `.shapeMismatch` when a target's rows are not whole blocks of 32.
    public init(base: any TensorSource, targets: [String: QuantScheme], split: @escaping RowSplitter = { n, body in body(0..<n) }) throws(FormatError) {
        self.base = base
        self.split = split
        var presented: [TensorInfo] = [], inputs: [String: TensorInfo] = [:]
        for t in base.tensors {
            guard let scheme = targets[t.name] else { presented.append(t); continue }
            guard t.dtype.isFloatingPoint, let cols = t.shape.dims.last, cols % 32 == 0,
                  let bytes = t.shape.byteCount(of: scheme.dtype) else {
                throw FormatError(
                    .shapeMismatch, "cannot quantize \(t.dtype.shortName) \(t.shape) to \(scheme.rawValue): rows must be whole blocks of 32",
                    path: base.files.first, tensorName: t.name)
            }
            presented.append(TensorInfo(name: t.name, dtype: scheme.dtype, shape: t.shape, byteCount: bytes))
            inputs[t.name] = t
        }
        self.tensors = presented
        self.inputs = inputs
    }

    /// The base source's format name.
    public var formatName: String { base.formatName }
    /// The base source's files.
    public var files: [String] { base.files }
    /// The base source's metadata.
    public var metadata: Metadata { base.metadata }

    /// Error statistics of the tensors quantized so far, by name.
    public var errorStats: [String: QuantErrorStats] { errors.withLock { $0 } }

    /// The tensor's bytes: quantized on demand, or the base's bytes for tensors kept as they are.
    public func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard let input = inputs[tensor.name], let scheme = QuantScheme(dtype: tensor.dtype) else {
            return try base.storage(of: tensor)
        }
        let storage = try base.storage(of: input)
        let out = AlignedBuffer(count: tensor.byteCount)
        let cols = input.shape.dims.last!, rows = input.elementCount / max(cols, 1)
        let total = Mutex(QuantErrorStats())
        unsafe storage.withUnsafeBytes { src in
            unsafe out.withUnsafeMutableBytes { dst in
                guard rows > 0 else { return }
                let job = unsafe RowJob(
                    src: src.baseAddress!, dst: dst.baseAddress!, dtype: input.dtype, scheme: scheme, cols: cols)
                split(rows) { range in
                    let stats = unsafe job.run(range)
                    total.withLock { $0.merge(stats) }
                }
            }
        }
        let stats = total.withLock { $0 }
        errors.withLock { $0[tensor.name] = stats }
        return TensorStorage(buffer: out)
    }
}

/// One tensor's rows to quantize: pointers shared by the splitter's threads, which write
/// disjoint rows of `dst`.
@unsafe struct RowJob: @unchecked Sendable {
    let src: UnsafeRawPointer
    let dst: UnsafeMutableRawPointer
    let dtype: DType
    let scheme: QuantScheme
    let cols: Int

    /// Rows in per staging chunk when the input is not f32.
    static let chunkRows = 16

    /// Quantizes rows `range`, returning their error statistics.
    func run(_ range: Range<Int>) -> QuantErrorStats {
        var stats = QuantErrorStats()
        let blocksPerRow = cols / 32, outRow = blocksPerRow * scheme.dtype.blockBytes
        let inRow = cols * dtype.blockBytes
        let stageCount = dtype == .float32 ? 0 : Self.chunkRows * cols
        unsafe withUnsafeTemporaryAllocation(of: Float.self, capacity: stageCount + 32) { scratch in
            let decoded = unsafe scratch.baseAddress!, stage = unsafe scratch.baseAddress! + 32
            var row = range.lowerBound
            while row < range.upperBound {
                let n = dtype == .float32 ? range.upperBound - row : min(Self.chunkRows, range.upperBound - row)
                var x = unsafe (src + row * inRow).assumingMemoryBound(to: Float.self)
                if dtype != .float32 {
                    // SAFETY: stage holds chunkRows*cols floats; the source rows are inside the tensor.
                    unsafe ElementConversion.decodeToFloat32(src + row * inRow, from: dtype, into: UnsafeMutableRawPointer(stage), count: n * cols)
                    x = unsafe UnsafePointer(stage)
                }
                let blocks = n * blocksPerRow
                let out = unsafe dst + row * outRow
                for b in 0..<blocks {
                    // SAFETY: block b of this chunk lies inside both the input rows and the output rows.
                    let xb = unsafe x + b * 32, ob = unsafe out + b * scheme.dtype.blockBytes
                    unsafe scheme.encode(xb, blocks: 1, into: ob)
                    unsafe QuantBlocks.dequantize(UnsafeRawPointer(ob), as: scheme.dtype, into: decoded, count: 32)
                    unsafe stats.add(xb, decoded, count: 32)
                }
                row += n
            }
        }
        return stats
    }
}
