import Testing
import WeightKit

/// The Q8_0/Q4_0/Q4_1 kernels against the Swift scalar reference (blocks decoded by Core's
/// QuantBlocks, then an f32 dot product), with the AVX2 and the portable bodies, on row counts
/// that are not multiples of the register blocking and token counts around it.
@Suite("Quantized matrix kernels match the scalar reference", .serialized)
struct QuantizedKernelTests {
    static func weight(rows: Int, cols: Int, scheme: QuantScheme, seed: UInt64) -> Weight {
        var random = SplitMix64(seed: seed)
        let values = (0..<rows * cols).map { _ in Float(Int(random.next() % 2001) - 1000) / 1000 }
        let bytes = scheme.encode(values)
        let info = TensorInfo(name: "w", dtype: scheme.dtype, shape: Shape([rows, cols]), byteCount: bytes.count)
        return Weight(info: info, storage: TensorStorage(buffer: AlignedBuffer(bytes)))
    }

    @Test("matVec, matMul and row lookup", arguments: QuantScheme.allCases, [false, true])
    func products(scheme: QuantScheme, portable: Bool) {
        MatMul.forcePortable(portable)
        defer { MatMul.forcePortable(false) }
        for (rows, cols, n) in [(1, 32, 1), (5, 64, 2), (13, 96, 5), (67, 160, 4), (7, 4160, 3), (3, 32, 9)] {
            let w = Self.weight(rows: rows, cols: cols, scheme: scheme, seed: UInt64(rows * 1000 + cols))
            KernelTests.expectProducts(w, n: n, tolerance: 1e-5, label: "\(scheme)", reference: QuantizedMatMul.scalarMatVec)
            var decoded = [Float](repeating: .nan, count: cols)
            decoded.withUnsafeMutableBufferPointer { QuantizedMatMul.row(w, rows - 1, into: $0.baseAddress!) }
            let expected = w.storage.withUnsafeBytes { raw in
                QuantBlocks.dequantize(Array(raw[(rows - 1) * raw.count / rows..<raw.count]), as: scheme.dtype)
            }
            #expect(decoded == expected)
        }
    }
}
