import CWeightKitKernels
import WeightKitCore

// Whole rows, as llama-quantize quantizes them: with an importance vector (one weight per
// column, llama-imatrix's mean squared activation of that input) the K types, Q4_0 … Q5_1 and
// IQ4_NL weight each value's error by it, and some of them also use statistics of the whole row,
// so the row, not the block, is the unit.

extension QuantScheme {
    /// The block type's code in CWeightKitKernels (`enum wk_qtype`).
    var kernelType: Int32 {
        switch self {
        case .q8_0: return Int32(WK_Q8_0.rawValue)
        case .q4_0: return Int32(WK_Q4_0.rawValue)
        case .q4_1: return Int32(WK_Q4_1.rawValue)
        case .q5_0: return Int32(WK_Q5_0.rawValue)
        case .q5_1: return Int32(WK_Q5_1.rawValue)
        case .iq4_nl: return Int32(WK_IQ4_NL.rawValue)
        case .iq4_xs: return Int32(WK_IQ4_XS.rawValue)
        case .q2_k: return Int32(WK_Q2_K.rawValue)
        case .q3_k: return Int32(WK_Q3_K.rawValue)
        case .q4_k: return Int32(WK_Q4_K.rawValue)
        case .q5_k: return Int32(WK_Q5_K.rawValue)
        case .q6_k: return Int32(WK_Q6_K.rawValue)
        }
    }

    /// Bytes of one encoded row of `columns` values, or nil when the row is not whole blocks.
    public func rowBytes(columns: Int) -> Int? {
        guard columns > 0, columns % blockElements == 0 else { return nil }
        return columns / blockElements * dtype.blockBytes
    }

    /// Encodes `rows` rows of `columns` floats at `src` into `rows × rowBytes(columns:)` bytes at
    /// `dst`, as llama-quantize does (ggml's `ggml_quantize_chunk`): without `importance` the
    /// reference quantizers, with it (`columns` weights, the same for every row) the weighted
    /// ones. Q8_0 ignores `importance`, as ggml does.
    ///
    /// - Throws: `FormatError.nonFinite` naming the first row and column (counted from `src`)
    ///   holding NaN or ±Inf, or the first non-finite importance weight; `.shapeMismatch` when
    ///   `columns` is not whole blocks. Nothing is promised about `dst` after a throw.
    public func encode(
        rows src: UnsafePointer<Float>, count rows: Int, columns: Int, importance: UnsafePointer<Float>?,
        into dst: UnsafeMutableRawPointer
    ) throws(FormatError) {
        guard let rowBytes = rowBytes(columns: columns) else {
            throw FormatError(.shapeMismatch, "cannot encode rows of \(columns) values as \(rawValue): rows must be whole blocks of \(blockElements)")
        }
        guard rows > 0 else { return }
        if let importance = unsafe importance, let bad = unsafe Self.firstNonFinite(importance, count: columns) {
            throw FormatError(.nonFinite, "importance weight of column \(bad) is \(unsafe importance[bad]); \(rawValue) needs finite weights")
        }
        // SAFETY: src holds rows × columns floats (the caller's contract).
        if let bad = unsafe Self.firstNonFinite(src, count: rows * columns) {
            throw FormatError(
                .nonFinite,
                "row \(bad / columns), column \(bad % columns) is \(unsafe src[bad]); \(rawValue) can only encode finite values")
        }
        let weights = usesImportance ? unsafe importance : nil
        if weights == nil, self == .q8_0 || self == .q4_0 || self == .q4_1 {
            // SAFETY: rows × columns floats in, rows × rowBytes bytes out: whole blocks on both sides.
            unsafe encode(src, blocks: rows * columns / 32, into: dst)
            return
        }
        // SAFETY: as above; `weights` holds `columns` floats.
        let written = unsafe wk_quantize_rows(kernelType, src, dst, rows, columns, weights)
        precondition(written == rows * rowBytes, "wk_quantize_rows wrote \(written) bytes for \(rows) rows of \(columns) \(rawValue)")
    }

    /// Encodes `values`, rows of `columns` floats, into block bytes (see
    /// `encode(rows:count:columns:importance:into:)`).
    ///
    /// - Throws: `FormatError.nonFinite` for NaN or ±Inf (row and column named), `.shapeMismatch`
    ///   when `columns` is not whole blocks, `values` not whole rows, or `importance` not
    ///   `columns` long.
    public func encode(_ values: [Float], columns: Int, importance: [Float]? = nil) throws(FormatError) -> [UInt8] {
        guard let rowBytes = rowBytes(columns: columns), values.count % columns == 0 else {
            throw FormatError(.shapeMismatch, "cannot encode \(values.count) values as rows of \(columns) \(rawValue): rows must be whole blocks of \(blockElements)")
        }
        if let importance, importance.count != columns {
            throw FormatError(.shapeMismatch, "importance has \(importance.count) weights for rows of \(columns) values")
        }
        let rows = values.count / columns
        var out = [UInt8](repeating: 0, count: rows * rowBytes)
        guard rows > 0 else { return out }
        var failure: FormatError?
        unsafe values.withUnsafeBufferPointer { src in
            unsafe (importance ?? []).withUnsafeBufferPointer { w in
                let weights = importance == nil ? nil : unsafe w.baseAddress
                unsafe out.withUnsafeMutableBytes { dst in
                    do throws(FormatError) {
                        // SAFETY: the buffers hold rows × columns floats, rows × rowBytes bytes and
                        // (when given) columns weights.
                        try unsafe encode(rows: src.baseAddress!, count: rows, columns: columns, importance: weights, into: dst.baseAddress!)
                    } catch {
                        failure = error
                    }
                }
            }
        }
        if let failure { throw failure }
        return out
    }

    /// The index of the first NaN or ±Inf among `count` floats, or nil.
    static func firstNonFinite(_ x: UnsafePointer<Float>, count: Int) -> Int? {
        // An exponent field of all ones is NaN or ±Inf; eight lanes at a time, the exact index
        // found in the chunk that has one.
        let exponent = SIMD8<UInt32>(repeating: 0x7F80_0000)
        var i = 0
        while i + 8 <= count {
            // SAFETY: i + 8 <= count, inside the buffer.
            let bits = unsafe UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<UInt32>.self)
            if any((bits & exponent) .== exponent) { break }
            i += 8
        }
        while i < count {
            if unsafe !x[i].isFinite { return i }
            i += 1
        }
        return nil
    }
}
