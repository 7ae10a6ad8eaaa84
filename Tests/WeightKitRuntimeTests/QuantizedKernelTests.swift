import Foundation
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

        /// Portable body, AVX2 with f32 activations, AVX2 with 16-bit activations (the decode
        /// default) and prefill on f32 panels, and the default: 16-bit activations, with prefill on
        /// AVX-512 VNNI where the CPU has it (elsewhere the same as the previous case).
        enum Body: CaseIterable {
            case portable, f32Activations, int16Activations, int16WithVNNI

            /// The kernel choice that runs this body (narrowed to what the CPU has).
            var kernels: KernelConfig {
                switch self {
                case .portable: return KernelConfig(.portable)
                case .f32Activations: return KernelConfig(.avx2, activations: .float32)
                case .int16Activations: return KernelConfig(.avx2)
                case .int16WithVNNI: return KernelConfig(.automatic)
                }
            }
        }

        @Test("matVec, matMul and row lookup", arguments: [QuantScheme.q8_0, .q4_0, .q4_1], Body.allCases)
        func products(scheme: QuantScheme, body: Body) {
            let kernels = body.kernels
            // 16-bit activations: each x is off by at most 0.5 · max|x| / 32767 ≈ 1.5e-5 (|x| ≤ 1 here,
            // |w| ≤ 1), so a row of `cols` products is off by at most 1.5e-5 · cols; f32 sums ~1e-7 · cols.
            let tolerance: Float = body == .int16Activations || body == .int16WithVNNI ? 1.6e-5 : 1e-5
            // (6, 8288, 1): decode over rows wider than the int16 kernel's 8192-column chunk.
            // (9, 96, 40): past MatMul.decodeKernelTokens, so prefill's GEMM (f32 panels) runs too.
            for (rows, cols, n) in [(1, 32, 1), (5, 64, 2), (13, 96, 5), (67, 160, 4), (7, 4160, 3), (3, 32, 9), (6, 8288, 1), (9, 96, 40)] {
                let w = Self.weight(rows: rows, cols: cols, scheme: scheme, seed: UInt64(rows * 1000 + cols))
                KernelTests.expectProducts(
                    w, n: n, tolerance: tolerance, label: "\(scheme) \(body)", kernels: kernels, reference: QuantizedMatMul.scalarMatVec)
            // The runtime's interleaved copy (rows in groups of four; row counts here are mostly
            // not multiples of four, and two threads split groups) against the same reference.
            let wi = QuantizedMatMul.interleaved(w)
            #expect(wi.blockOrder == .interleaved4)
            KernelTests.expectProducts(wi, n: n, tolerance: tolerance, label: "\(scheme) \(body) interleaved", kernels: kernels) { _, x in
                QuantizedMatMul.scalarMatVec(w, x)
            }
            for r in [0, rows / 2, rows - 1] {
                var plain = [Float](repeating: .nan, count: cols), fromInterleaved = [Float](repeating: 0, count: cols)
                plain.withUnsafeMutableBufferPointer { QuantizedMatMul.row(w, r, into: $0.baseAddress!, kernels: kernels) }
                fromInterleaved.withUnsafeMutableBufferPointer { QuantizedMatMul.row(wi, r, into: $0.baseAddress!, kernels: kernels) }
                #expect(plain == fromInterleaved, "\(scheme) row \(r) of \(rows)")
            }
                var decoded = [Float](repeating: .nan, count: cols)
                decoded.withUnsafeMutableBufferPointer { QuantizedMatMul.row(w, rows - 1, into: $0.baseAddress!, kernels: kernels) }
                let expected = w.storage.withUnsafeBytes { raw in
                    QuantBlocks.dequantize(Array(raw[(rows - 1) * raw.count / rows..<raw.count]), as: scheme.dtype)
                }
                #expect(decoded == expected)
            }
        }
    }

}

extension KernelSwitches.QuantizedKernelTests {
    @Test("decode uses 16-bit activations by default on AVX2, at any row width: close to, but not bit-equal with, f32 activations",
          arguments: [QuantScheme.q8_0, .q4_0, .q4_1], [576, 8192 + 96])
    func int16IsTheDefault(scheme: QuantScheme, cols: Int) throws {
        try #require(InstructionSet.cpu >= .avx2, "the 16-bit path is AVX2-only")
        #expect(KernelConfig.automatic.activations == .int16 && RuntimeOptions().kernelConfig == .automatic)
        let rows = 64
        let w = Self.weight(rows: rows, cols: cols, scheme: scheme, seed: 99)
        var random = SplitMix64(seed: 3)
        let x = (0..<cols).map { _ in Float(Int(random.next() % 20001) - 10000) / 7777 }
        func product(_ kernels: KernelConfig) -> [Float] {
            var y = [Float](repeating: .nan, count: rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { MatMul.matVec(w, xp.baseAddress!, $0.baseAddress!, parallel: Parallel(threads: 1), kernels: kernels) }
            }
            return y
        }
        let int16 = product(.automatic)
        let f32 = product(KernelConfig(.automatic, activations: .float32))
        #expect(int16 != f32)
        let bound = 1.6e-5 * Float(cols) * (x.map(abs).max() ?? 0)
        for r in 0..<rows { #expect(abs(int16[r] - f32[r]) <= bound, "row \(r)") }
    }

    /// The AVX2 flags the AVX2 bodies need, as the kernel lists them in /proc/cpuinfo.
    static var cpuHasAVX2: Bool { cpuFlags.isSuperset(of: ["avx2", "fma", "f16c"]) }

    /// The flags of the first CPU in /proc/cpuinfo (empty elsewhere).
    static var cpuFlags: Set<String> {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(flags.split(separator: " ").map(String.init))
    }

    /// The AVX-512 flags the VNNI prefill needs, as the kernel lists them in /proc/cpuinfo.
    static var cpuHasVNNI: Bool { cpuFlags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512_vnni"]) }

    @Test("the CPU's instruction set is what /proc/cpuinfo lists; by default prefill uses the VNNI kernel exactly when it lists AVX-512 F/BW/VL/VNNI")
    func detection() {
        #expect((InstructionSet.cpu >= .avx2) == Self.cpuHasAVX2)
        #expect(KernelConfig.automatic.usesVNNIPrefill == (Self.cpuHasVNNI && Self.cpuHasAVX2))
        // Only the options turn it off: a narrower choice or f32 activations.
        #expect(!KernelConfig(.avx2).usesVNNIPrefill && !KernelConfig(.portable).usesVNNIPrefill)
        #expect(!KernelConfig(.automatic, activations: .float32).usesVNNIPrefill)
        // A choice the CPU lacks is narrowed to what it has, and says so beforehand.
        for choice in KernelChoice.allCases {
            #expect(KernelConfig(choice).instructionSet <= InstructionSet.cpu)
            #expect(choice.isSupported == (KernelConfig(choice).instructionSet == (choice.instructionSet ?? InstructionSet.cpu)))
        }
    }

    // Skipped (and reported so) on CPUs without AVX-512 VNNI, where prefill runs on f32 panels.
    @Test("VNNI prefill is close to, but not bit-equal with, the f32-panel one", .enabled(if: KernelConfig.automatic.usesVNNIPrefill),
          arguments: [QuantScheme.q8_0, .q4_0, .q4_1])
    func vnniWhereAvailable(scheme: QuantScheme) {
        // 8 tokens per pass: 14 and 15 end in passes of 6 and 7 tokens, 11 in one of 3.
        for n in [11, 14, 15] { Self.expectVNNIClose(scheme: scheme, n: n) }
    }

    static func expectVNNIClose(scheme: QuantScheme, n: Int) {
        let (rows, cols) = (45, 576)
        let w = Self.weight(rows: rows, cols: cols, scheme: scheme, seed: 98)
        var random = SplitMix64(seed: UInt64(n))
        let x = (0..<n * cols).map { _ in Float(Int(random.next() % 20001) - 10000) / 7777 }
        func product(_ kernels: KernelConfig) -> [Float] {
            var y = [Float](repeating: .nan, count: n * rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer {
                    MatMul.matMul(w, xp.baseAddress!, $0.baseAddress!, n: n, yStride: rows, parallel: Parallel(threads: 2), kernels: kernels)
                }
            }
            return y
        }
        let vnni = product(.automatic)
        let f32 = product(KernelConfig(.avx2))
        #expect(vnni != f32)
        let bound = 1.6e-5 * Float(cols) * (x.map(abs).max() ?? 0)
        for i in 0..<n * rows { #expect(abs(vnni[i] - f32[i]) <= bound, "n \(n): token \(i / rows) row \(i % rows)") }
    }
}

extension KernelSwitches.QuantizedKernelTests {
    /// Q5 and K blocks as GGUF files hold them (WeightKit has no encoder for them yet): random
    /// bytes, then f16 scales (and mins) drawn so that every weight lies within ±1.
    static func randomBlocks(rows: Int, cols: Int, dtype: DType, seed: UInt64) -> Weight {
        var random = SplitMix64(seed: seed)
        let blocks = rows * cols / dtype.blockElements
        var bytes = (0..<blocks * dtype.blockBytes).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        // Offsets of the f16 scale d and min, and the largest |d| and |min| for |w| ≤ 1: q5_0 d·16,
        // q5_1 d·31 + m, q4_K d·63·15 + dmin·63, q5_K d·63·31 + dmin·63, q6_K d·128·32,
        // q3_K d·32·4, q2_K d·15·3 + dmin·15, iq4_XS d·32·127 (ggml-common.h's block structs).
        let (dAt, minAt, dMax, mMax): (Int, Int?, Float, Float) = switch dtype {
        case .q5_0: (0, nil, 1.0 / 16, 0)
        case .q5_1: (0, 2, 1.0 / 62, 0.5)
        case .q4_K: (0, 2, 1.0 / 1890, 1.0 / 126)
        case .q5_K: (0, 2, 1.0 / 3906, 1.0 / 126)
        case .q6_K: (208, nil, 1.0 / 4096, 0)
        case .q3_K: (108, nil, 1.0 / 128, 0)
        case .q2_K: (80, 82, 1.0 / 90, 1.0 / 30)
        case .iq4_NL: (0, nil, 1.0 / 127, 0)
        case .iq4_XS: (0, nil, 1.0 / 4064, 0)  // d·(scale − 32)·level, |scale − 32| ≤ 32, |level| ≤ 127
        default: fatalError("no random blocks for \(dtype)")
        }
        func put(_ value: Float, at offset: Int) {
            let bits = Float16(value).bitPattern
            bytes[offset] = UInt8(bits & 0xFF)
            bytes[offset + 1] = UInt8(bits >> 8)
        }
        func draw(_ limit: Float) -> Float { Float(Int(random.next() % 2001) - 1000) / 1000 * limit }
        for b in 0..<blocks {
            let start = b * dtype.blockBytes
            put(draw(dMax), at: start + dAt)
            if let m = minAt { put(draw(mMax), at: start + m) }
        }
        let info = TensorInfo(name: "w", dtype: dtype, shape: Shape([rows, cols]), byteCount: bytes.count)
        return Weight(info: info, storage: TensorStorage(buffer: AlignedBuffer(bytes)))
    }

    @Test("Q5 and K blocks: matVec, matMul and row lookup against the scalar reference, odd sizes",
          arguments: [DType.q5_0, .q5_1, .iq4_NL, .iq4_XS, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K], Body.allCases)
    func blocksFromFiles(dtype: DType, body: Body) {
        let kernels = body.kernels
        let tolerance: Float = body == .int16Activations || body == .int16WithVNNI ? 1.6e-5 : 1e-5
        let k = dtype.blockElements
        // The widest row runs in two chunks of the int16 path's 8192 columns; the last shape has
        // more tokens than MatMul.decodeKernelTokens, so prefill's GEMM runs too.
        // (37, …, 33): prefill's GEMM with two threads taking a share of the rows each.
        let shapes = k == 32
            ? [(1, 32, 1), (5, 64, 2), (13, 96, 5), (67, 160, 4), (7, 4160, 3), (3, 32, 9), (6, 8288, 1), (9, 96, 40), (37, 96, 33)]
            : [(1, 256, 1), (5, 512, 2), (13, 768, 5), (67, 256, 4), (7, 4352, 3), (3, 256, 9), (6, 8192 + 512, 1), (9, 512, 40), (37, 512, 33)]
        for (rows, cols, n) in shapes {
            let w = Self.randomBlocks(rows: rows, cols: cols, dtype: dtype, seed: UInt64(rows * 1000 + cols))
            KernelSwitches.KernelTests.expectProducts(w, n: n, tolerance: tolerance, label: "\(dtype) \(body)", kernels: kernels,
                                       reference: QuantizedMatMul.scalarMatVec)
            let wi = QuantizedMatMul.interleaved(w)
            #expect(wi.blockOrder == .interleaved4)
            do {
                KernelSwitches.KernelTests.expectProducts(wi, n: n, tolerance: tolerance, label: "\(dtype) \(body) interleaved", kernels: kernels) { _, x in
                    QuantizedMatMul.scalarMatVec(w, x)
                }
            }
            for r in Set([0, rows / 2, rows - 1]) {
                var decoded = [Float](repeating: .nan, count: cols), fromInterleaved = [Float](repeating: 0, count: cols)
                decoded.withUnsafeMutableBufferPointer { QuantizedMatMul.row(w, r, into: $0.baseAddress!, kernels: kernels) }
                fromInterleaved.withUnsafeMutableBufferPointer { QuantizedMatMul.row(wi, r, into: $0.baseAddress!, kernels: kernels) }
                let expected = w.storage.withUnsafeBytes { raw in
                    QuantBlocks.dequantize(Array(raw[r * raw.count / rows..<(r + 1) * raw.count / rows]), as: dtype)
                }
                #expect(decoded == expected && fromInterleaved == expected, "\(dtype) row \(r) of \(rows)")
            }
        }
    }

    @Test("Q5 and K decode: 16-bit activations close to, not bit-equal with, f32 ones", arguments: [DType.q5_0, .q5_1, .iq4_NL, .iq4_XS, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K])
    func blocksInt16(dtype: DType) throws {
        try #require(InstructionSet.cpu >= .avx2, "the 16-bit path is AVX2-only")
        let (rows, cols) = (40, 1536)
        let w = Self.randomBlocks(rows: rows, cols: cols, dtype: dtype, seed: 5)
        var random = SplitMix64(seed: 3)
        let x = (0..<cols).map { _ in Float(Int(random.next() % 20001) - 10000) / 7777 }
        func product(_ kernels: KernelConfig) -> [Float] {
            var y = [Float](repeating: .nan, count: rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { MatMul.matVec(w, xp.baseAddress!, $0.baseAddress!, parallel: Parallel(threads: 1), kernels: kernels) }
            }
            return y
        }
        let int16 = product(.automatic), f32 = product(KernelConfig(.automatic, activations: .float32))
        #expect(int16 != f32)
        let bound = 1.6e-5 * Float(cols) * (x.map(abs).max() ?? 0)
        for r in 0..<rows { #expect(abs(int16[r] - f32[r]) <= bound, "\(dtype) row \(r)") }
    }
}

extension KernelSwitches.QuantizedKernelTests {
    /// Q6_K blocks with every ql and qh byte `quants` (0: q = 0; 0xFF: q = 63), every scale −128 and d = 1/4096.
    static func q6kEdge(quants: UInt8, rows: Int, cols: Int) -> Weight {
        var block = [UInt8](repeating: quants, count: 210)
        for i in 192..<208 { block[i] = 0x80 }
        let d = Float16(1.0 / 4096).bitPattern
        block[208] = UInt8(d & 0xFF)
        block[209] = UInt8(d >> 8)
        let bytes = Array([[UInt8]](repeating: block, count: rows * cols / 256).joined())
        return Weight(info: TensorInfo(name: "w", dtype: .q6_K, shape: Shape([rows, cols]), byteCount: bytes.count),
                      storage: TensorStorage(buffer: AlignedBuffer(bytes)))
    }

    @Test("Q6_K at its largest products (q − 32 = −32, scale −128, equal activations): no integer overflow in decode or prefill", arguments: Body.allCases)
    func q6kOverflowEdge(body: Body) {
        // ql = qh = 0 (q = 0), every scale −128, d = 1/4096: each weight is (1/4096)·(−128)·(−32) = 1.
        // 32 such products of 16-bit activations (32767) would pass 2^31 in one int32 lane of the
        // VNNI prefill; the sums must still be exact.
        let (rows, cols, n) = (3, 512, 4)
        let w = Self.q6kEdge(quants: 0, rows: rows, cols: cols)
        for tokens in [1, n] {
            let x = [Float](repeating: 0.75, count: tokens * cols)
            var y = [Float](repeating: .nan, count: tokens * rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    if tokens == 1 {
                        MatMul.matVec(w, xp.baseAddress!, yp.baseAddress!, parallel: Parallel(threads: 1), kernels: body.kernels)
                    } else {
                        MatMul.matMul(w, xp.baseAddress!, yp.baseAddress!, n: tokens, yStride: rows, parallel: Parallel(threads: 1), kernels: body.kernels)
                    }
                }
            }
            for v in y { #expect(abs(v - 0.75 * Float(cols)) <= 1e-3, "\(body) n=\(tokens): \(v)") }
        }
    }

    @Test("Q4_0 and Q4_1 at their extremes (every nibble 0 or 15, equal activations), in the file's layout and the paired interleaved copy with an odd block count",
          arguments: [QuantScheme.q4_0, .q4_1], Body.allCases)
    func q4Extremes(scheme: QuantScheme, body: Body) {
        // d = 1/8: for Q4_0 a nibble of 0 is the weight −1, a nibble of 15 is 7/8; Q4_1's min −1
        // gives the same weights. Five blocks a row, so the interleaved copy's last pair is
        // padded; seven rows, so its last group is too.
        let (rows, cols) = (7, 160)
        let d = Float16(0.125).bitPattern, m = Float16(-1).bitPattern
        for (byte, weight): (UInt8, Float) in [(0x00, -1), (0xFF, 0.875)] {
            var block = [UInt8](repeating: byte, count: scheme == .q4_1 ? 20 : 18)
            block[0] = UInt8(d & 0xFF)
            block[1] = UInt8(d >> 8)
            if scheme == .q4_1 { block[2] = UInt8(m & 0xFF); block[3] = UInt8(m >> 8) }
            let bytes = Array([[UInt8]](repeating: block, count: rows * cols / 32).joined())
            let w = Weight(info: TensorInfo(name: "w", dtype: scheme.dtype, shape: Shape([rows, cols]), byteCount: bytes.count),
                           storage: TensorStorage(buffer: AlignedBuffer(bytes)))
            for m in [w, QuantizedMatMul.interleaved(w)] {
                let x = [Float](repeating: 0.75, count: cols)
                var y = [Float](repeating: .nan, count: rows)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        MatMul.matVec(m, xp.baseAddress!, yp.baseAddress!, parallel: Parallel(threads: 1), kernels: body.kernels)
                    }
                }
                for v in y { #expect(abs(v - 0.75 * weight * Float(cols)) <= 1e-3, "\(scheme) \(body) \(m.blockOrder) nibbles \(byte): \(v)") }
            }
        }
    }
}

extension KernelSwitches.QuantizedKernelTests {
    /// One prefill product over `w` with `kernels` (one thread, or two splitting the rows).
    static func prefill(_ w: Weight, _ x: [Float], n: Int, threads: Int = 1, kernels: KernelConfig) -> [Float] {
        var y = [Float](repeating: .nan, count: n * w.rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                MatMul.matMul(w, xp.baseAddress!, yp.baseAddress!, n: n, yStride: w.rows, parallel: Parallel(threads: threads), kernels: kernels)
            }
        }
        return y
    }

    @Test("prefill with 8-bit activations (AVX2): within the int8 rounding's bound of the scalar reference, every block type, both layouts, odd sizes",
          arguments: [DType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .iq4_NL])
    func int8Prefill(dtype: DType) throws {
        try #require(InstructionSet.cpu >= .avx2, "the 8-bit prefill is AVX2-only")
        let kernels = KernelConfig(.avx2, activations: .int8)
        #expect(kernels.usesInt8Prefill && !KernelConfig(.avx2).usesInt8Prefill && !KernelConfig.automatic.usesInt8Prefill)
        // Activations are rounded per block of the weights' type: 256 values for K types, 32 for the others.
        let group = dtype.blockElements
        // Rows not a multiple of the 8-row panels, token counts around the 4-token groups, past
        // MatMul.decodeKernelTokens (below it prefill runs the decode kernel per token); odd block
        // counts for the 32-value types (the paired interleaved layout pads them).
        let shapes = group == 256 ? [(13, 768, 41), (9, 512, 40), (67, 256, 33), (3, 4352, 35)] : [(13, 96, 41), (9, 160, 40), (67, 64, 33), (3, 4128, 35)]
        for (rows, cols, n) in shapes {
            let seed = UInt64(rows * 1000 + cols)
            let w = switch dtype {
            case .q8_0: Self.weight(rows: rows, cols: cols, scheme: .q8_0, seed: seed)
            case .q4_0: Self.weight(rows: rows, cols: cols, scheme: .q4_0, seed: seed)
            case .q4_1: Self.weight(rows: rows, cols: cols, scheme: .q4_1, seed: seed)
            default: Self.randomBlocks(rows: rows, cols: cols, dtype: dtype, seed: seed)
            }
            var random = SplitMix64(seed: UInt64(n))
            // Activations with an outlier per token, as real residual streams have.
            var x = (0..<n * cols).map { _ in Float(Int(random.next() % 2001) - 1000) / 1000 }
            for t in 0..<n { x[t * cols + (t * 37) % cols] = 9 }
            let dense = (0..<rows).map { r in
                w.storage.withUnsafeBytes { raw in QuantBlocks.dequantize(Array(raw[r * raw.count / rows..<(r + 1) * raw.count / rows]), as: dtype) }
            }
            let f32Panels = Self.prefill(w, x, n: n, kernels: KernelConfig(.avx2))
            for (m, threads) in [(w, 1), (QuantizedMatMul.interleaved(w), 2)] {
                let y = Self.prefill(m, x, n: n, threads: threads, kernels: kernels)
                #expect(y != f32Panels, "\(dtype): the 8-bit kernel ran")
                for t in 0..<n {
                    let xt = Array(x[t * cols..<(t + 1) * cols])
                    for r in 0..<rows {
                        // Each activation is off by at most half its block's step max|x|/127;
                        // f32 sums add ~1e-6 of Σ|w·x|.
                        var want: Double = 0, bound: Double = 0, magnitude: Double = 0
                        for b in 0..<cols / group {
                            let step = Double(xt[b * group..<(b + 1) * group].map(abs).max()!) / 127
                            for i in b * group..<(b + 1) * group {
                                want += Double(dense[r][i]) * Double(xt[i])
                                bound += abs(Double(dense[r][i])) * step / 2
                                magnitude += abs(Double(dense[r][i]) * Double(xt[i]))
                            }
                        }
                        let got = Double(y[t * rows + r])
                        #expect(abs(got - want) <= bound * 1.001 + 1e-5 * magnitude,
                                "\(dtype) \(m.blockOrder) \(rows)x\(cols) n=\(n) t=\(t) r=\(r): \(got) vs \(want) (bound \(bound))")
                    }
                }
            }
        }
    }

    @Test("Q8_0 at −128, the one value ggml's quantizer never writes but a file may hold: |w| = 128 in the 8-bit prefill's unsigned operand, no saturation")
    func int8PrefillQ8Edge() throws {
        try #require(InstructionSet.cpu >= .avx2, "the 8-bit prefill is AVX2-only")
        // Every quant −128, d = 1/1024: each weight is −0.125. Equal activations round to ±127,
        // so each vpmaddubsw pair is 2·128·127 = 32512, just below int16's 32767.
        let (rows, cols, n) = (11, 96, 36)
        var block = [UInt8](repeating: 0x80, count: 34)
        let d = Float16(1.0 / 1024).bitPattern
        block[0] = UInt8(d & 0xFF)
        block[1] = UInt8(d >> 8)
        let bytes = Array([[UInt8]](repeating: block, count: rows * cols / 32).joined())
        let w = Weight(info: TensorInfo(name: "w", dtype: .q8_0, shape: Shape([rows, cols]), byteCount: bytes.count),
                       storage: TensorStorage(buffer: AlignedBuffer(bytes)))
        for m in [w, QuantizedMatMul.interleaved(w)] {
            for sign: Float in [1, -1] {
                let x = [Float](repeating: 0.75 * sign, count: n * cols)
                let y = Self.prefill(m, x, n: n, threads: 2, kernels: KernelConfig(.avx2, activations: .int8))
                for v in y { #expect(abs(v - 0.75 * sign * -0.125 * Float(cols)) <= 1e-4, "\(m.blockOrder) sign \(sign): \(v)") }
            }
        }
    }

    @Test("IQ4_XS, which the 8-bit prefill does not take: with the option it runs the f32 panels, the same values as without it, both layouts")
    func int8PrefillLeavesIQ4XS() throws {
        try #require(InstructionSet.cpu >= .avx2, "the 8-bit prefill is AVX2-only")
        let (rows, cols, n) = (13, 768, 41)
        let w = Self.randomBlocks(rows: rows, cols: cols, dtype: .iq4_XS, seed: 7)
        var random = SplitMix64(seed: 11)
        let x = (0..<n * cols).map { _ in Float(Int(random.next() % 2001) - 1000) / 1000 }
        for m in [w, QuantizedMatMul.interleaved(w)] {
            let panels = Self.prefill(m, x, n: n, kernels: KernelConfig(.avx2))
            #expect(Self.prefill(m, x, n: n, kernels: KernelConfig(.avx2, activations: .int8)) == panels, "\(m.blockOrder)")
            // and the panels hold the blocks' values: against the scalar reference
            let reference = QuantizedMatMul.scalarMatVec(w, Array(x[0..<cols]))
            for r in 0..<rows { #expect(abs(panels[r] - reference[r]) <= 1e-4, "\(m.blockOrder) row \(r)") }
        }
    }

    @Test("Q6_K's largest 8-bit products (q − 32 = 31, scale −128, activations at ±127): no saturation or overflow in the 8-bit prefill")
    func int8PrefillQ6KEdge() throws {
        try #require(InstructionSet.cpu >= .avx2, "the 8-bit prefill is AVX2-only")
        // ql = qh = 0xFF: q = 63, so each weight is d·(−128)·31 with d = 1/4096.
        let (rows, cols, n) = (11, 512, 36)
        let w = Self.q6kEdge(quants: 0xFF, rows: rows, cols: cols)
        let weight = Float(1.0 / 4096) * -128 * 31
        for sign: Float in [1, -1] {
            let x = [Float](repeating: 0.75 * sign, count: n * cols)
            let y = Self.prefill(w, x, n: n, kernels: KernelConfig(.avx2, activations: .int8))
            for v in y { #expect(abs(v - 0.75 * sign * weight * Float(cols)) <= 1e-3, "sign \(sign): \(v)") }
        }
    }
}
