/// One step that turns a stored tensor into the tensor a conversion writes.
///
/// `TensorPayload` only casts between plain floats; conversions that must also dequantize
/// blocks, reorder rows (llama.cpp's Q/K RoPE permutation) or transpose (GPT-2's Conv1D weights)
/// describe those steps here and read the result through a `TransformedTensorSource`, whose
/// tensors a `TensorPayload` then streams (and casts) as usual. One tensor is materialised at a
/// time, so memory stays at one tensor's f32 size.
public enum TensorTransform: Sendable, Hashable {
    /// Decode block-quantized values to f32 (no-op for plain dtypes).
    case dequantize
    /// Reorder the outermost dimension: output row i is input row `order[i]`. Works on any dtype
    /// whose rows are whole blocks, so quantized rows move without decoding.
    case permuteRows([Int])
    /// Swap the two dimensions of a 2-D tensor of a plain dtype.
    case transpose
}

/// A tensor source whose tensors are computed on demand from another source's tensors.
public final class TransformedTensorSource: TensorSource {
    /// One output tensor: what it is, which input it comes from, and the steps in order.
    public struct Entry: Sendable {
        /// The tensor as this source presents it.
        public var output: TensorInfo
        /// The input tensor in the base source.
        public var input: TensorInfo
        /// Steps applied to the input's bytes, in order.
        public var steps: [TensorTransform]
    }

    /// The source the inputs come from.
    public let base: any TensorSource
    /// Entries, in output order.
    public let entries: [Entry]
    private let byName: [String: Int]

    /// A source presenting `entries`.
    public init(base: any TensorSource, entries: [Entry]) {
        self.base = base
        self.entries = entries
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.output.name] = i }
        self.byName = index
    }

    /// The format of the base source.
    public var formatName: String { base.formatName }
    /// The base source's files.
    public var files: [String] { base.files }
    /// Output tensors.
    public var tensors: [TensorInfo] { entries.map(\.output) }
    /// The base source's metadata.
    public var metadata: Metadata { base.metadata }

    /// The entry producing `input` under `name` after `steps`, with its output info computed.
    ///
    /// - Throws: `.shapeMismatch` when a step does not fit the tensor (rows not matching the
    ///   permutation, transposing a non-2-D or block tensor).
    public static func entry(
        input: TensorInfo, name: String, steps: [TensorTransform]
    ) throws(FormatError) -> Entry {
        // A tensor of unknown type passes through as it is: reading it (`storage(of:)`) fails in
        // the base source, with the file, the tensor and the type code.
        guard input.dtype != .unknown else {
            var output = input
            output.name = name
            output.fileOffset = nil
            return Entry(output: output, input: input, steps: steps)
        }
        var dtype = input.dtype
        var dims = input.shape.dims
        for step in steps {
            switch step {
            case .dequantize:
                if dtype.isQuantized { dtype = .float32 }
            case .permuteRows(let order):
                guard let rows = dims.first, rows == order.count, Set(order) == Set(0..<rows) else {
                    throw FormatError(
                        .shapeMismatch, "a \(order.count)-row permutation does not fit shape \(Shape(dims))",
                        tensorName: input.name)
                }
            case .transpose:
                guard dims.count == 2, !dtype.isQuantized else {
                    throw FormatError(
                        .shapeMismatch, "cannot transpose \(dtype.shortName) tensor of shape \(Shape(dims))",
                        tensorName: input.name)
                }
                dims.reverse()
            }
        }
        let shape = Shape(dims)
        guard let bytes = shape.byteCount(of: dtype) else {
            throw FormatError(.shapeMismatch, "shape \(shape) overflows as \(dtype.shortName)", tensorName: input.name)
        }
        let output = TensorInfo(name: name, dtype: dtype, shape: shape, byteCount: bytes)
        return Entry(output: output, input: input, steps: steps)
    }

    /// Applies the entry's steps to the input's bytes.
    public func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard let i = byName[tensor.name] else {
            throw FormatError(.tensorNotFound, "no tensor named \"\(tensor.name)\"", path: files.first, tensorName: tensor.name)
        }
        let entry = entries[i]
        let original = try base.storage(of: entry.input)
        var storage = original
        var dtype = entry.input.dtype
        var dims = entry.input.shape.dims
        for step in entry.steps {
            switch step {
            case .dequantize:
                guard dtype.isQuantized else { continue }
                storage = Self.dequantized(storage, dtype: dtype, count: Shape(dims).elementCount ?? 0)
                dtype = .float32
            case .permuteRows(let order):
                storage = Self.permuted(storage, order: order)
            case .transpose:
                storage = Self.transposed(storage, rows: dims[0], cols: dims[1], width: dtype.blockBytes)
                dims.reverse()
            }
        }
        // A step made a copy: the input's mapped pages have been read and are not needed again.
        if !entry.steps.isEmpty && !storage.isMapped { original.releaseResidentPages() }
        return storage
    }

    static func dequantized(_ storage: TensorStorage, dtype: DType, count: Int) -> TensorStorage {
        let out = AlignedBuffer(count: count * 4)
        unsafe storage.withUnsafeBytes { src in
            unsafe out.withUnsafeMutableBytes { dst in
                guard count > 0 else { return }
                precondition(src.count == dtype.byteCount(elements: count), "dequantize: stored size disagrees with shape")
                // SAFETY: src holds count/blockElements blocks (checked above); dst holds count floats
                // and is 64-byte aligned, so binding it to Float is valid.
                unsafe QuantBlocks.dequantize(
                    src.baseAddress!, as: dtype, into: dst.baseAddress!.assumingMemoryBound(to: Float.self), count: count)
            }
        }
        return TensorStorage(buffer: out)
    }

    static func permuted(_ storage: TensorStorage, order: [Int]) -> TensorStorage {
        let total = storage.count
        let out = AlignedBuffer(count: total)
        guard !order.isEmpty else { return storage }
        let rowBytes = total / order.count
        unsafe storage.withUnsafeBytes { src in
            unsafe out.withUnsafeMutableBytes { dst in
                for (i, from) in order.enumerated() {
                    // SAFETY: i and from are < order.count (entry() checked the permutation), so both
                    // rows lie inside buffers of order.count * rowBytes bytes.
                    unsafe (dst.baseAddress! + i * rowBytes).copyMemory(from: src.baseAddress! + from * rowBytes, byteCount: rowBytes)
                }
            }
        }
        return TensorStorage(buffer: out)
    }

    static func transposed(_ storage: TensorStorage, rows: Int, cols: Int, width: Int) -> TensorStorage {
        let out = AlignedBuffer(count: storage.count)
        unsafe storage.withUnsafeBytes { src in
            unsafe out.withUnsafeMutableBytes { dst in
                precondition(src.count == rows * cols * width, "transpose: stored size disagrees with shape")
                for r in 0..<rows {
                    for c in 0..<cols {
                        // SAFETY: r < rows and c < cols, so both element offsets are inside rows*cols*width bytes.
                        unsafe (dst.baseAddress! + (c * rows + r) * width).copyMemory(
                            from: src.baseAddress! + (r * cols + c) * width, byteCount: width)
                    }
                }
            }
        }
        return TensorStorage(buffer: out)
    }
}
