import CWeightKitKernels
import WeightKitCore
import WeightKitGraph

/// Matrix products straight on Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL and IQ4_XS weights (C bodies in
/// `qkernels.c`) and on the K super-blocks Q2_K to Q6_K (`kkernels.c`), in the files' layout or
/// interleaved (`interleaved`).
///
/// The products go through `MatMul` with a `KernelConfig`. Decode (matrix-vector) with AVX2 and
/// `ActivationPrecision.int16` rounds the activations to 16 bits per block of 32 and multiplies
/// integers (relative error ~1e-5 of a block's largest activation; ggml rounds to 8 bits, ~0.3 %,
/// which flipped greedy tokens in our tests: docs/BENCHMARKS.md), at any row width. With
/// `.float32` (and in the portable bodies) each block is instead dequantized in registers and
/// multiplied with the f32 activations, so logits differ from the dequantized f32 twin only by
/// summation order. Prefill uses f32 activations too, except with AVX-512 VNNI
/// (`KernelConfig.usesVNNIPrefill`), where it rounds them to 16 bits like decode.
/// `scalarMatVec` is the Swift reference.
public enum QuantizedMatMul {
    static func code(_ dtype: DType) -> Int32? {
        switch dtype {
        case .q8_0: return Int32(WK_Q8_0.rawValue)
        case .q4_0: return Int32(WK_Q4_0.rawValue)
        case .q4_1: return Int32(WK_Q4_1.rawValue)
        case .q5_0: return Int32(WK_Q5_0.rawValue)
        case .q5_1: return Int32(WK_Q5_1.rawValue)
        case .q4_K: return Int32(WK_Q4_K.rawValue)
        case .q6_K: return Int32(WK_Q6_K.rawValue)
        case .q5_K: return Int32(WK_Q5_K.rawValue)
        case .q3_K: return Int32(WK_Q3_K.rawValue)
        case .q2_K: return Int32(WK_Q2_K.rawValue)
        case .iq4_NL: return Int32(WK_IQ4_NL.rawValue)
        case .iq4_XS: return Int32(WK_IQ4_XS.rawValue)
        default: return nil
        }
    }

    /// The kernel code for `w`: its block type, with `WK_QX4` for the interleaved layout.
    static func kernelCode(_ w: Weight) -> Int32? {
        guard let type = code(w.dtype) else { return nil }
        return w.blockOrder == .interleaved4 ? type | WK_QX4 : type
    }

    /// `w` copied into the interleaved layout (rows in groups of four, each block index's four
    /// scales together, then their quants; K super-blocks cut into pieces interleaved the same
    /// way): decode reads one sequential stream and loads four scales, or a chunk of quants from
    /// four rows, at once. Not quantized, or not a matrix of whole blocks: `w` itself.
    public static func interleaved(_ w: Weight) -> Weight {
        guard let size = interleavedBytes(w) else { return w }
        let buffer = AlignedBuffer(count: size)
        unsafe buffer.withUnsafeMutableBytes { dst in unsafe interleave(w, into: dst.baseAddress!) }
        return Weight(info: w.info, storage: TensorStorage(buffer: buffer), blockOrder: .interleaved4)
    }

    /// Bytes of `w`'s interleaved copy; nil when `interleaved` would return `w` itself.
    static func interleavedBytes(_ w: Weight) -> Int? {
        guard w.blockOrder == .rows, let type = code(w.dtype), w.info.shape.rank == 2,
              w.columns % w.dtype.blockElements == 0
        else { return nil }
        return wk_qx4_bytes(type, w.rows, w.columns)
    }

    /// Writes `w`'s interleaved copy (`interleavedBytes(w)` bytes) to `dst`.
    static func interleave(_ w: Weight, into dst: UnsafeMutableRawPointer) {
        unsafe interleave(w, rows: 0..<w.rows, into: dst)
    }

    /// Writes the part of `w`'s interleaved copy that holds `rows` (from a multiple of four) to
    /// `dst`, which points at that part: byte `interleavedOffset(w, row: rows.lowerBound)` of the
    /// whole copy. Groups of four rows are contiguous there, so pieces can be written apart.
    static func interleave(_ w: Weight, rows: Range<Int>, into dst: UnsafeMutableRawPointer) {
        guard let type = code(w.dtype) else { preconditionFailure("no quantized kernel for \(w.dtype)") }
        precondition(rows.lowerBound % 4 == 0 && rows.upperBound <= w.rows, "interleaved pieces start at a group of four rows")
        let rowBytes = w.columns / w.dtype.blockElements * w.dtype.blockBytes
        unsafe w.storage.withUnsafeBytes { src in
            // SAFETY: src holds rows × cols/32 blocks (checked by the readers), rows lie inside it;
            // dst has the interleaved bytes of rows.count rows.
            unsafe wk_qrepack_x4(type, src.baseAddress! + rows.lowerBound * rowBytes, rows.count, w.columns, dst)
        }
    }

    /// Byte offset of row `row` (a multiple of four) in `w`'s interleaved copy.
    static func interleavedOffset(_ w: Weight, row: Int) -> Int {
        guard let type = code(w.dtype) else { preconditionFailure("no quantized kernel for \(w.dtype)") }
        return wk_qx4_bytes(type, row, w.columns)
    }

    /// Row `index` of a quantized table decoded to f32 (embedding lookups); every body decodes
    /// to the same values.
    public static func row(_ w: Weight, _ index: Int, into out: UnsafeMutablePointer<Float>, kernels: KernelConfig = .automatic) {
        guard let type = kernelCode(w) else { preconditionFailure("no quantized kernel for \(w.dtype)") }
        precondition(index >= 0 && index < w.rows, "row \(index) outside the table")
        unsafe w.storage.withUnsafeBytes { raw in
            // SAFETY: index < rows, so the row's blocks lie inside the storage; out holds columns floats.
            unsafe wk_qdequantize_row(kernels.isa, type, raw.baseAddress!, w.columns, index, out)
        }
    }

    /// The reference: each row decoded by Core's `QuantBlocks`, then a plain f32 dot product.
    public static func scalarMatVec(_ w: Weight, _ x: [Float]) -> [Float] {
        precondition(w.blockOrder == .rows, "the reference reads rows as files store them")
        let rows = w.rows, cols = w.columns, rowBytes = cols / w.dtype.blockElements * w.dtype.blockBytes
        var y = [Float](repeating: 0, count: rows)
        var row = [Float](repeating: 0, count: cols)
        unsafe w.storage.withUnsafeBytes { raw in
            for r in 0..<rows {
                unsafe row.withUnsafeMutableBufferPointer { dst in
                    unsafe QuantBlocks.dequantize(raw.baseAddress! + r * rowBytes, as: w.dtype, into: dst.baseAddress!, count: cols)
                }
                var sum: Float = 0
                for c in 0..<cols { sum += row[c] * x[c] }
                y[r] = sum
            }
        }
        return y
    }
}
