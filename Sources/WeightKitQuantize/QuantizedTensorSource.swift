import Synchronization
import WeightKitCore

/// A tensor source presenting another source's tensors with some of them block-quantized.
///
/// Quantizing happens in `storage(of:)`, one tensor at a time (memory stays at one tensor's
/// quantized size plus the input mapping), so a `TensorPayload` over this source streams
/// quantized bytes to any writer that can hold blocks. Rows are split over a caller-supplied
/// splitter (the runtime's `Parallel`); the error of each quantized tensor is recorded. A tensor
/// may come with an importance vector (llama-imatrix's per-column weights), which the scheme's
/// weighted quantizer uses as llama-quantize does.
public final class QuantizedTensorSource: TensorSource {
    /// Calls its body on disjoint ranges covering `0..<count`, possibly concurrently.
    public typealias RowSplitter = @Sendable (_ count: Int, _ body: @Sendable (Range<Int>) -> Void) -> Void

    /// The source the float tensors come from.
    public let base: any TensorSource
    /// Tensors as presented: quantized ones carry their block dtype and byte count.
    public let tensors: [TensorInfo]
    private let inputs: [String: TensorInfo]
    private let importance: [String: [Float]]
    private let split: RowSplitter
    private let body: EncoderBody
    private let errors = Mutex<[String: QuantErrorStats]>([:])

    /// Presents `base` with the tensors named in `targets` quantized to their block dtype.
    ///
    /// `importance` gives, by tensor name, the importance vector to quantize it with: one weight
    /// per column (the last dimension), or for a 3-D tensor `[experts, rows, columns]` one
    /// vector per expert, `experts × columns` weights, as llama-imatrix stores them.
    ///
    /// `body` chooses the fused Q8_0/Q4_0/Q4_1 encoder's body (the same bytes either way).
    ///
    /// - Throws: `.shapeMismatch` when a target's rows are not whole blocks of its scheme (32
    ///   values, 256 for the K types) or an importance vector's length fits neither form.
    public init(
        base: any TensorSource, targets: [String: QuantScheme], importance: [String: [Float]] = [:],
        body: EncoderBody = .best, split: @escaping RowSplitter = { n, body in body(0..<n) }
    ) throws(FormatError) {
        self.base = base
        self.split = split
        self.body = body
        var presented: [TensorInfo] = [], inputs: [String: TensorInfo] = [:]
        for t in base.tensors {
            guard let scheme = targets[t.name] else { presented.append(t); continue }
            guard t.dtype.isFloatingPoint, let cols = t.shape.dims.last, scheme.rowBytes(columns: cols) != nil,
                  let bytes = t.shape.byteCount(of: scheme.dtype) else {
                throw FormatError(
                    .shapeMismatch,
                    "cannot quantize \(t.dtype.shortName) \(t.shape) to \(scheme.rawValue): rows must be whole blocks of \(scheme.blockElements)",
                    path: base.files.first, tensorName: t.name)
            }
            if let weights = importance[t.name] {
                let dims = t.shape.dims, experts = dims.count == 3 ? dims[0] : 1
                guard weights.count == cols || weights.count == cols * experts else {
                    throw FormatError(
                        .shapeMismatch,
                        "importance for \(t.shape) has \(weights.count) weights; expected \(cols) (one per column)\(experts > 1 ? " or \(cols * experts) (per expert)" : "")",
                        path: base.files.first, tensorName: t.name)
                }
            }
            presented.append(TensorInfo(name: t.name, dtype: scheme.dtype, shape: t.shape, byteCount: bytes))
            inputs[t.name] = t
        }
        self.tensors = presented
        self.inputs = inputs
        self.importance = importance.filter { inputs[$0.key] != nil }
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
    ///
    /// - Throws: `FormatError.nonFinite` naming the tensor, row and column of a NaN or ±Inf.
    public func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard let input = inputs[tensor.name], let scheme = QuantScheme(dtype: tensor.dtype) else {
            return try base.storage(of: tensor)
        }
        let storage = try base.storage(of: input)
        let out = AlignedBuffer(count: tensor.byteCount)
        let cols = input.shape.dims.last!, rows = input.elementCount / max(cols, 1)
        let weights = importance[tensor.name] ?? []
        // Rows per importance vector: all of them, or one expert's when there is one per expert.
        let rowsPerVector = weights.count > cols ? rows / (weights.count / cols) : rows
        if let bad = weights.firstIndex(where: { !$0.isFinite }) {
            throw FormatError(
                .nonFinite, "importance weight \(bad) is \(weights[bad]); \(scheme.rawValue) needs finite weights",
                path: base.files.first, tensorName: tensor.name)
        }
        let total = Mutex(QuantErrorStats())
        // The failing row with the lowest index, and its error.
        let failure = Mutex<RowFailure?>(nil)
        unsafe storage.withUnsafeBytes { src in
            unsafe out.withUnsafeMutableBytes { dst in
                guard rows > 0 else { return }
                unsafe weights.withUnsafeBufferPointer { w in
                    let job = unsafe RowJob(
                        src: src.baseAddress!, dst: dst.baseAddress!, dtype: input.dtype, scheme: scheme, cols: cols,
                        importance: weights.isEmpty ? nil : w.baseAddress, rowsPerVector: max(rowsPerVector, 1), body: body)
                    split(rows) { range in
                        do throws(RowFailure) {
                            let stats = try unsafe job.run(range)
                            total.withLock { $0.merge(stats) }
                        } catch {
                            failure.withLock { if $0 == nil || $0!.row > error.row { $0 = error } }
                        }
                    }
                }
            }
        }
        if var error = failure.withLock({ $0 })?.error {
            error.path = base.files.first
            error.tensorName = tensor.name
            throw error
        }
        let stats = total.withLock { $0 }
        errors.withLock { $0[tensor.name] = stats }
        // The input has been read in full: its mapped pages leave the resident set (the quantized
        // copy is what the writer reads next), so RSS stays at about one tensor, not the file.
        storage.releaseResidentPages()
        return TensorStorage(buffer: out)
    }
}

/// A row `RowJob` could not quantize, and why.
struct RowFailure: Error {
    /// The row's index in the tensor.
    let row: Int
    /// What was wrong with it (tensor and path filled in by the caller).
    let error: FormatError
}

/// One tensor's rows to quantize: pointers shared by the splitter's threads, which write
/// disjoint rows of `dst`.
@unsafe struct RowJob: @unchecked Sendable {
    let src: UnsafeRawPointer
    let dst: UnsafeMutableRawPointer
    let dtype: DType
    let scheme: QuantScheme
    let cols: Int
    /// Importance weights, `cols` per vector (nil: none).
    let importance: UnsafePointer<Float>?
    /// Rows quantized with each importance vector (an expert's rows in a 3-D tensor).
    let rowsPerVector: Int
    /// The fused encoder's body.
    let body: EncoderBody

    /// Rows in per staging chunk when the input is not f32.
    static let chunkRows = 16

    /// The failure for a NaN or ±Inf at (`row`, `column`) of the tensor.
    func nonFinite(row: Int, column: Int, value: Float) -> RowFailure {
        RowFailure(row: row, error: FormatError(
            .nonFinite, "row \(row), column \(column) is \(value); \(unsafe scheme.rawValue) can only encode finite values"))
    }

    /// Quantizes rows `range`, returning their error statistics.
    ///
    /// - Throws: the first row holding NaN or ±Inf, with a `FormatError.nonFinite` naming its
    ///   (tensor-wide) row and column.
    func run(_ range: Range<Int>) throws(RowFailure) -> QuantErrorStats {
        if unsafe importance == nil || !(unsafe scheme).usesImportance {
            // Q8_0, Q4_0 and Q4_1 from f32, f16 or bf16: one pass over the rows, no staging.
            do throws(NonFiniteValue) {
                // SAFETY: rows `range` of the input and of the output lie inside the tensor.
                if let stats = try unsafe scheme.encodeFused(
                    src + range.lowerBound * cols * dtype.blockBytes, dtype: dtype, values: range.count * cols,
                    into: dst + range.lowerBound * scheme.rowBytes(columns: cols)!, body: body) {
                    return stats
                }
            } catch {
                throw unsafe nonFinite(row: range.lowerBound + error.index / cols, column: error.index % cols, value: error.value)
            }
        }
        var stats = QuantErrorStats()
        let block = scheme.blockElements
        let outRow = scheme.rowBytes(columns: cols)!, inRow = cols * dtype.blockBytes
        let stageCount = dtype == .float32 ? 0 : Self.chunkRows * cols
        return try unsafe withUnsafeTemporaryAllocation(of: Float.self, capacity: stageCount + block) { (scratch) throws(RowFailure) in
            let decoded = unsafe scratch.baseAddress!, stage = unsafe scratch.baseAddress! + block
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
                    // SAFETY: row + r is inside the tensor: its input row, its output row and its
                    // importance vector (rowsPerVector rows each, checked against the shape at init).
                    let xr = unsafe x + r * cols, out = unsafe dst + (row + r) * outRow
                    let w = unsafe importance.map { unsafe $0 + (row + r) / rowsPerVector * cols }
                    do throws(FormatError) {
                        try unsafe scheme.encode(rows: xr, count: 1, columns: cols, importance: w, into: out)
                    } catch {
                        // The row and column within the tensor, not within this one-row call.
                        guard let column = unsafe QuantScheme.firstNonFinite(xr, count: cols) else {
                            throw RowFailure(row: row + r, error: error)
                        }
                        throw unsafe nonFinite(row: row + r, column: column, value: unsafe xr[column])
                    }
                    for b in 0..<(cols / block) {
                        // SAFETY: block b of this row lies inside both the input row and the output row.
                        let xb = unsafe xr + b * block, ob = unsafe out + b * scheme.dtype.blockBytes
                        unsafe QuantBlocks.dequantize(UnsafeRawPointer(ob), as: scheme.dtype, into: decoded, count: block)
                        unsafe stats.add(xb, decoded, count: block)
                    }
                }
                row += n
            }
            return stats
        }
    }
}
