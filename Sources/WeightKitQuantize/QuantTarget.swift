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
    /// ggml types whose quantizer ignores the importance matrix (`quantize_q8_0` does:
    /// `(void)quant_weights`), so the reference encoder is already what llama-quantize writes.
    static let importanceIgnored: Set<DType> = [.q8_0]

    /// The encoder for `target`.
    ///
    /// - Throws: `FormatError` `.unsupported` naming the type when WeightKit has no encoder for
    ///   it, or no importance-weighted one when the target carries importance (ggml's
    ///   `quantize_row_*_impl` path, which writes other bytes than the reference encoder).
    static func scheme(for target: QuantTarget, tensor: String) throws(FormatError) -> QuantScheme {
        let name = target.dtype.shortName.uppercased()
        guard let scheme = QuantScheme(dtype: target.dtype) else {
            throw FormatError(.unsupported, "no encoder for \(name): WeightKit cannot write \(name) blocks yet", tensorName: tensor)
        }
        // INTEGRATION (kquant-enc): its schemes all take an importance vector; delete this check.
        if target.importance != nil, !importanceIgnored.contains(target.dtype) {
            throw FormatError(
                .unsupported, "no importance-weighted encoder for \(name) (ggml's quantize_row_\(target.dtype.shortName)_impl): cannot use the importance matrix",
                tensorName: tensor)
        }
        return scheme
    }
}

extension QuantizedTensorSource {
    /// Presents `base` with the tensors named in `targets` quantized to their block dtype, with
    /// the importance of their columns when a target carries one.
    ///
    /// - Throws: `.unsupported` when WeightKit has no encoder for a target's type (or none that
    ///   weighs columns by importance, when one is given), and the designated initializer's
    ///   `.shapeMismatch`.
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
        // Only Q8_0 takes importance today, and ggml's Q8_0 ignores it.
        // INTEGRATION (kquant-enc): pass `importance: targets.compactMapValues(\.importance)`.
        try self.init(base: base, targets: schemes, split: split)
    }
}
