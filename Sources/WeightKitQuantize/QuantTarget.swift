import WeightKitCore

/// What one tensor is quantized to: a block type and, optionally, the importance of its
/// columns (from an importance matrix) that ggml's quantizers weigh the rounding error by.
public struct QuantTarget: Sendable, Hashable {
    /// The block type written.
    public var dtype: DType
    /// `matrices × columns` importances (one row per stacked expert), or nil.
    public var importance: [Float]?

    /// Creates a target.
    public init(dtype: DType, importance: [Float]? = nil) {
        self.dtype = dtype
        self.importance = importance
    }
}

/// How a `QuantTarget` finds its encoder: the one place that knows which block types and which
/// importance-weighted encoders WeightKit has.
enum QuantEncoder {
    /// The encoder for `target`.
    ///
    /// - Throws: `FormatError` `.unsupported` naming the type when WeightKit has no encoder for
    ///   it (every encoder takes an importance vector, as ggml's `quantize_*` functions do).
    static func scheme(for target: QuantTarget, tensor: String) throws(FormatError) -> QuantScheme {
        let name = target.dtype.shortName.uppercased()
        guard let scheme = QuantScheme(dtype: target.dtype) else {
            throw FormatError(.unsupported, "no encoder for \(name): WeightKit cannot write \(name) blocks yet", tensorName: tensor)
        }
        return scheme
    }
}

extension QuantizedTensorSource {
    /// Presents `base` with the tensors named in `targets` quantized to their block dtype, with
    /// the importance of their columns when a target carries one.
    ///
    /// - Throws: `.unsupported` when WeightKit has no encoder for a target's type, and the
    ///   designated initializer's `.shapeMismatch`.
    public convenience init(
        base: any TensorSource, targets: [String: QuantTarget], split: @escaping RowSplitter = { n, body in body(0..<n) }
    ) throws(FormatError) {
        var schemes: [String: QuantScheme] = [:]
        for (name, target) in targets {
            schemes[name] = try QuantEncoder.scheme(for: target, tensor: name)
            let cols = base.tensor(named: name)?.shape.dims.last ?? 0
            if let importance = target.importance, let t = base.tensor(named: name) {
                let matrices = t.shape.rank >= 3 ? t.shape.dims.dropLast(2).reduce(1, *) : 1
                guard importance.count == cols * matrices else {
                    throw FormatError(
                        .shapeMismatch, "importance has \(importance.count) values, expected \(cols * matrices) (\(matrices) × \(cols) columns)",
                        path: base.files.first, tensorName: name)
                }
            }
        }
        try self.init(base: base, targets: schemes, importance: targets.compactMapValues(\.importance), split: split)
    }
}
