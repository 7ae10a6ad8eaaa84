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
    private let inputs: [String: Input]

    /// A tensor to quantize: its input, encoder and column importance.
    struct Input {
        let info: TensorInfo
        let scheme: QuantScheme
        let importance: [Float]?
        let matrices: Int
    }
    private let split: RowSplitter
    private let errors = Mutex<[String: QuantErrorStats]>([:])

    /// Presents `base` with the tensors named in `targets` quantized to their block dtype.
    ///
    /// - Throws: `.shapeMismatch` when a target's rows are not whole blocks of 32.
    public convenience init(base: any TensorSource, targets: [String: QuantScheme], split: @escaping RowSplitter = { n, body in body(0..<n) }) throws(FormatError) {
        try self.init(base: base, targets: targets.mapValues { QuantTarget(dtype: $0.dtype) }, split: split)
    }

    /// Presents `base` with the tensors named in `targets` quantized to their block dtype,
    /// with the importance of their columns when a target carries one.
    ///
    /// - Throws: `.unsupported` when WeightKit has no encoder for a target's type (or none
    ///   that weighs columns by importance, when one is given), `.shapeMismatch` when a
    ///   target's rows are not whole blocks or its importance does not cover every column of
    ///   every matrix.
    public init(base: any TensorSource, targets: [String: QuantTarget], split: @escaping RowSplitter = { n, body in body(0..<n) }) throws(FormatError) {
        self.base = base
        self.split = split
        var presented: [TensorInfo] = [], inputs: [String: Input] = [:]
        for t in base.tensors {
            guard let target = targets[t.name] else { presented.append(t); continue }
            let scheme = try QuantEncoder.scheme(for: target, tensor: t.name)
            let block = target.dtype.blockElements
            guard t.dtype.isFloatingPoint, let cols = t.shape.dims.last, cols % block == 0,
                  let bytes = t.shape.byteCount(of: target.dtype) else {
                throw FormatError(
                    .shapeMismatch, "cannot quantize \(t.dtype.shortName) \(t.shape) to \(target.dtype.shortName): rows must be whole blocks of \(block)",
                    path: base.files.first, tensorName: t.name)
            }
            let matrices = t.shape.rank >= 3 ? t.shape.dims.dropLast(2).reduce(1, *) : 1
            if let importance = target.importance, importance.count != cols * matrices {
                throw FormatError(
                    .shapeMismatch, "importance has \(importance.count) values, expected \(cols * matrices) (\(matrices) × \(cols) columns)",
                    path: base.files.first, tensorName: t.name)
            }
            presented.append(TensorInfo(name: t.name, dtype: target.dtype, shape: t.shape, byteCount: bytes))
            inputs[t.name] = Input(info: t, scheme: scheme, importance: target.importance, matrices: matrices)
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
        guard let input = inputs[tensor.name] else { return try base.storage(of: tensor) }
        let storage = try base.storage(of: input.info)
        let out = AlignedBuffer(count: tensor.byteCount)
        let cols = input.info.shape.dims.last!, rows = input.info.elementCount / max(cols, 1)
        let total = Mutex(QuantErrorStats())
        unsafe storage.withUnsafeBytes { src in
            unsafe out.withUnsafeMutableBytes { dst in
                unsafe (input.importance ?? []).withUnsafeBufferPointer { importance in
                    guard rows > 0 else { return }
                    let job = unsafe RowJob(
                        src: src.baseAddress!, dst: dst.baseAddress!, dtype: input.info.dtype, scheme: input.scheme, cols: cols,
                        importance: input.importance == nil ? nil : importance.baseAddress, rowsPerMatrix: rows / input.matrices)
                    split(rows) { range in
                        let stats = unsafe job.run(range)
                        total.withLock { $0.merge(stats) }
                    }
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
    /// `matrices × cols` column importances (nil: none), matrix by matrix.
    let importance: UnsafePointer<Float>?
    /// Rows per stacked matrix (expert): row g uses importance row g / rowsPerMatrix.
    let rowsPerMatrix: Int

    /// Rows in per staging chunk when the input is not f32.
    static let chunkRows = 16

    /// Quantizes rows `range` one row at a time, returning their error statistics.
    func run(_ range: Range<Int>) -> QuantErrorStats {
        var stats = QuantErrorStats()
        let blocksPerRow = cols / scheme.dtype.blockElements, outRow = blocksPerRow * scheme.dtype.blockBytes
        let inRow = cols * dtype.blockBytes
        let stageCount = dtype == .float32 ? 0 : Self.chunkRows * cols
        unsafe withUnsafeTemporaryAllocation(of: Float.self, capacity: stageCount + cols) { scratch in
            let decoded = unsafe scratch.baseAddress!, stage = unsafe scratch.baseAddress! + cols
            var row = range.lowerBound
            while row < range.upperBound {
                let n = dtype == .float32 ? range.upperBound - row : min(Self.chunkRows, range.upperBound - row)
                var x = unsafe (src + row * inRow).assumingMemoryBound(to: Float.self)
                if dtype != .float32 {
                    // SAFETY: stage holds chunkRows*cols floats; the source rows are inside the tensor.
                    unsafe ElementConversion.decodeToFloat32(src + row * inRow, from: dtype, into: UnsafeMutableRawPointer(stage), count: n * cols)
                    x = unsafe UnsafePointer(stage)
                }
                for r in 0..<n {
                    // SAFETY: row r of this chunk lies inside both the input rows and the output
                    // rows; the importance row (row / rowsPerMatrix) is inside its matrices × cols.
                    let xr = unsafe x + r * cols, out = unsafe dst + (row + r) * outRow
                    let weights = unsafe importance.map { unsafe $0 + ((row + r) / rowsPerMatrix) * cols }
                    unsafe QuantEncoder.encode(scheme, xr, blocks: blocksPerRow, into: out, importance: weights)
                    unsafe QuantBlocks.dequantize(UnsafeRawPointer(out), as: scheme.dtype, into: decoded, count: cols)
                    unsafe stats.add(xr, decoded, count: cols)
                }
                row += n
            }
        }
        return stats
    }
}
