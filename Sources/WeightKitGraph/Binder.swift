import WeightKitCore

/// Looks tensors up by name with shape checks, and remembers which names were used so that
/// anything left over can be reported as unexpected.
final class Binder {
    /// The source being bound.
    public let source: any TensorSource
    private var byName: [String: TensorInfo] = [:]
    private(set) var used = Set<String>()
    /// When true, `checkAllUsed` records the leftovers in `unused` instead of throwing.
    let listsUnused: Bool
    /// Tensors not used and not ignored, in source order (filled only when `listsUnused`).
    private(set) var unused: [String] = []
    /// A multimodal checkpoint's layout: names are looked up as the text-only model's, and the
    /// image side is never bound nor reported as unused.
    let multimodal: MultimodalLayout?
    /// Dtypes matrices may have for the runtime to compute on them directly (other block types
    /// are dequantized to f32 by the loader).
    public static let matrixDTypes: Set<DType> = [.float32, .float16, .bfloat16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS]

    /// Prepares to bind `source`; with `listsUnused`, leftovers are collected rather than refused.
    public init(source: any TensorSource, listsUnused: Bool = false) {
        self.source = source
        self.listsUnused = listsUnused
        multimodal = MultimodalLayout.detect(source.tensors.lazy.map(\.name))
        for t in source.tensors {
            if let text = MultimodalLayout.textName(t.name, in: multimodal) { byName[text] = t }
        }
    }

    /// The first dimension of tensor `name`, when it exists.
    public func rows(of name: String) -> Int? { byName[name]?.shape.dims.first }

    /// True when a tensor called `name` exists.
    public func has(_ name: String) -> Bool { byName[name] != nil }

    /// The tensor `name` with shape `shape`, as stored.
    public func matrix(_ name: String, _ shape: [Int]) throws -> Weight {
        let info = try lookup(name, shape)
        guard Self.matrixDTypes.contains(info.dtype) else {
            let kinds = Self.matrixDTypes.map(\.shortName).sorted().joined(separator: ", ")
            throw GraphError(.unsupportedDType, "the runtime computes on \(kinds) matrices, not \(info.dtype.shortName)", tensorName: name)
        }
        return Weight(info: info, storage: try source.storage(of: info))
    }

    /// The tensor `name` (a vector or small table), converted to f32 in memory we own.
    public func vector(_ name: String, _ shape: [Int]) throws -> Weight {
        let info = try lookup(name, shape)
        return try Self.toFloat32(Weight(info: info, storage: try source.storage(of: info)))
    }

    /// A norm weight as f32 with `offset` added to every element (Gemma's (1 + w)), in memory we own.
    public func norm(_ name: String, _ shape: [Int], offset: Float) throws -> Weight {
        let w = try vector(name, shape)
        guard offset != 0 else { return w }
        let n = w.info.elementCount
        let buffer = AlignedBuffer(count: n * 4)
        unsafe w.storage.withUnsafeBytes { src in
            unsafe buffer.withUnsafeMutableBytes { dst in
                let s = unsafe src.baseAddress!.assumingMemoryBound(to: Float.self), d = unsafe dst.baseAddress!.assumingMemoryBound(to: Float.self)
                for i in 0..<n { unsafe d[i] = s[i] + offset }
            }
        }
        return Weight(info: w.info, storage: TensorStorage(buffer: buffer))
    }

    /// `vector(name, shape)` when the tensor exists, else nil.
    public func optionalVector(_ name: String, _ shape: [Int]) throws -> Weight? {
        has(name) ? try vector(name, shape) : nil
    }

    /// A matrix stored transposed ([in, out], GPT-2's Conv1D), returned as [out, in] in the same dtype.
    public func transposedMatrix(_ name: String, storedShape: [Int]) throws -> Weight {
        let stored = try matrix(name, storedShape)
        let rows = storedShape[0], cols = storedShape[1], width = stored.dtype.blockBytes
        guard !stored.dtype.isQuantized else {
            throw GraphError(.unsupportedDType, "a transposed (Conv1D) weight cannot be block-quantized", tensorName: name)
        }
        let buffer = AlignedBuffer(count: stored.info.byteCount)
        unsafe stored.storage.withUnsafeBytes { src in
            unsafe buffer.withUnsafeMutableBytes { dst in
                for r in 0..<rows {
                    for c in 0..<cols {
                        // SAFETY: r < rows, c < cols; both buffers hold rows*cols elements of `width` bytes.
                        unsafe (dst.baseAddress! + (c * rows + r) * width).copyMemory(from: src.baseAddress! + (r * cols + c) * width, byteCount: width)
                    }
                }
            }
        }
        var info = stored.info
        info.shape = Shape([cols, rows])
        return Weight(info: info, storage: TensorStorage(buffer: buffer))
    }

    /// Throws `unexpectedTensor` for the first tensor not used and not matched by `ignoring`, or,
    /// when `listsUnused`, records every such tensor in `unused`.
    public func checkAllUsed(ignoring: (String) -> Bool) throws {
        for t in source.tensors where !used.contains(t.name) {
            // The image side of a multimodal checkpoint has no text name: never bound, never unused.
            guard let text = MultimodalLayout.textName(t.name, in: multimodal), !ignoring(text) else { continue }
            guard listsUnused else { throw GraphError.unusedTensor(t.name, path: source.files.first) }
            unused.append(t.name)
        }
    }

    /// Marks `name` as used without binding it (e.g. a redundant lm_head of a tied model).
    public func markUsed(_ name: String) { used.insert(byName[name]?.name ?? name) }

    private func lookup(_ name: String, _ shape: [Int]) throws -> TensorInfo {
        guard let info = byName[name] else {
            let stored = multimodal?.storedName(name) ?? name
            throw GraphError(.missingTensor, "missing; expected shape \(Shape(shape))", tensorName: stored, path: source.files.first)
        }
        guard info.shape.dims == shape else {
            throw GraphError(.shapeMismatch, "expected shape \(Shape(shape)), found \(info.shape)", tensorName: info.name, path: source.files.first)
        }
        used.insert(info.name)
        return info
    }

    /// A copy of a plain floating weight as f32.
    static func toFloat32(_ w: Weight) throws -> Weight {
        if w.dtype == .float32 { return w }
        guard ElementConversion.canConvert(from: w.dtype, to: .float32) else {
            throw GraphError(.unsupportedDType, "expected a floating tensor, found \(w.dtype.shortName)", tensorName: w.info.name)
        }
        let n = w.info.elementCount
        let buffer = AlignedBuffer(count: n * 4)
        unsafe w.storage.withUnsafeBytes { src in
            unsafe buffer.withUnsafeMutableBytes { dst in
                if n > 0 { unsafe ElementConversion.convert(src.baseAddress!, from: w.dtype, to: .float32, into: dst.baseAddress!, count: n) }
            }
        }
        var info = w.info
        info.dtype = .float32
        info.byteCount = n * 4
        return Weight(info: info, storage: TensorStorage(buffer: buffer))
    }
}

extension ModelGraph {
    /// Binds `source` as `bind(_:config:)` does, except that tensors the architecture does not
    /// use are returned (in source order) instead of refused, so one bind lists them all.
    ///
    /// - Throws: `GraphError` for the first missing, mis-shaped or unusable tensor.
    public static func bindListingUnused(
        _ source: any TensorSource, config: ArchitectureConfig
    ) throws -> (graph: ModelGraph, unused: [String]) {
        let binder = Binder(source: source, listsUnused: true)
        let graph = try bind(binder, config: config)
        return (graph, binder.unused)
    }

    /// Dtypes a matrix may have for the runtime to compute on it directly; loaders dequantize
    /// anything else (Q5/K types) at load.
    public static var matrixDTypes: Set<DType> { Binder.matrixDTypes }
}

extension GraphError {
    /// `unexpectedTensor`: `name` is not part of the architecture being bound.
    public static func unusedTensor(_ name: String, path: String? = nil) -> GraphError {
        GraphError(.unexpectedTensor, "tensor is not part of the architecture", tensorName: name, path: path)
    }
}
