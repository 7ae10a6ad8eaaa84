import Testing
import WeightKit

extension KernelSwitches {
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

        /// Portable body, AVX2 with f32 activations, AVX2 with 16-bit activations (the decode default).
        enum Body: CaseIterable { case portable, f32Activations, int16Activations }

        @Test("matVec, matMul and row lookup", arguments: QuantScheme.allCases, Body.allCases)
        func products(scheme: QuantScheme, body: Body) {
            MatMul.forcePortable(body == .portable)
            QuantizedMatMul.f32Activations = body == .f32Activations
            defer { MatMul.forcePortable(false); QuantizedMatMul.f32Activations = false }
            // 16-bit activations: each x is off by at most 0.5 · max|x| / 32767 ≈ 1.5e-5 (|x| ≤ 1 here,
            // |w| ≤ 1), so a row of `cols` products is off by at most 1.5e-5 · cols; f32 sums ~1e-7 · cols.
            let tolerance: Float = body == .int16Activations ? 1.6e-5 : 1e-5
            for (rows, cols, n) in [(1, 32, 1), (5, 64, 2), (13, 96, 5), (67, 160, 4), (7, 4160, 3), (3, 32, 9)] {
                let w = Self.weight(rows: rows, cols: cols, scheme: scheme, seed: UInt64(rows * 1000 + cols))
                KernelTests.expectProducts(w, n: n, tolerance: tolerance, label: "\(scheme) \(body)", reference: QuantizedMatMul.scalarMatVec)
            // The runtime's interleaved copy (rows in groups of four; row counts here are mostly
            // not multiples of four, and two threads split groups) against the same reference.
            let wi = QuantizedMatMul.interleaved(w)
            #expect(wi.blockOrder == .interleaved4)
            KernelTests.expectProducts(wi, n: n, tolerance: tolerance, label: "\(scheme) \(body) interleaved") { _, x in
                QuantizedMatMul.scalarMatVec(w, x)
            }
            for r in [0, rows / 2, rows - 1] {
                var plain = [Float](repeating: .nan, count: cols), fromInterleaved = [Float](repeating: 0, count: cols)
                plain.withUnsafeMutableBufferPointer { QuantizedMatMul.row(w, r, into: $0.baseAddress!) }
                fromInterleaved.withUnsafeMutableBufferPointer { QuantizedMatMul.row(wi, r, into: $0.baseAddress!) }
                #expect(plain == fromInterleaved, "\(scheme) row \(r) of \(rows)")
            }
                var decoded = [Float](repeating: .nan, count: cols)
                decoded.withUnsafeMutableBufferPointer { QuantizedMatMul.row(w, rows - 1, into: $0.baseAddress!) }
                let expected = w.storage.withUnsafeBytes { raw in
                    QuantBlocks.dequantize(Array(raw[(rows - 1) * raw.count / rows..<raw.count]), as: scheme.dtype)
                }
                #expect(decoded == expected)
            }
        }
    }

}

extension KernelSwitches.QuantizedKernelTests {
    @Test("decode uses 16-bit activations by default on AVX2: close to, but not bit-equal with, f32 activations", arguments: QuantScheme.allCases)
    func int16IsTheDefault(scheme: QuantScheme) throws {
        try #require(MatMul.usesAVX2, "the 16-bit path is AVX2-only")
        #expect(!QuantizedMatMul.f32Activations)
        let (rows, cols) = (64, 576)
        let w = Self.weight(rows: rows, cols: cols, scheme: scheme, seed: 99)
        var random = SplitMix64(seed: 3)
        let x = (0..<cols).map { _ in Float(Int(random.next() % 20001) - 10000) / 7777 }
        func product() -> [Float] {
            var y = [Float](repeating: .nan, count: rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { MatMul.matVec(w, xp.baseAddress!, $0.baseAddress!, parallel: Parallel(threads: 1)) }
            }
            return y
        }
        let int16 = product()
        QuantizedMatMul.f32Activations = true
        defer { QuantizedMatMul.f32Activations = false }
        let f32 = product()
        #expect(int16 != f32)
        let bound = 1.6e-5 * Float(cols) * (x.map(abs).max() ?? 0)
        for r in 0..<rows { #expect(abs(int16[r] - f32[r]) <= bound, "row \(r)") }
    }
}
