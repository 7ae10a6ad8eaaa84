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

/// The one place `QuantizedTensorSource` calls the block encoders, so adding encoders (the
/// K-quants, Q5_0/Q5_1, IQ4_NL) and importance-weighted encoding is a change here only.
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
        if target.importance != nil, !importanceIgnored.contains(target.dtype) {
            throw FormatError(
                .unsupported, "no importance-weighted encoder for \(name) (ggml's quantize_row_\(target.dtype.shortName)_impl): cannot use the importance matrix",
                tensorName: tensor)
        }
        return scheme
    }

    /// Encodes `blocks` blocks of one row at `x` into `out`, weighing columns by `importance`
    /// (`blocks × blockElements` values, or nil).
    @inline(__always)
    static func encode(
        _ scheme: QuantScheme, _ x: UnsafePointer<Float>, blocks: Int, into out: UnsafeMutableRawPointer, importance: UnsafePointer<Float>?
    ) {
        // `scheme(for:)` admits importance only for types that ignore it, so it is unused here.
        _ = unsafe importance
        unsafe scheme.encode(x, blocks: blocks, into: out)
    }
}
