import Testing
import WeightKit

extension KernelSwitches {
    /// Each matrix kernel against the Swift scalar reference, on sizes that are not multiples of the
    /// vector width, for every dtype, with the AVX2 bodies and with the portable ones.
    @Suite("Matrix kernels match the scalar reference", .serialized)
    struct KernelTests {
        static func weight(rows: Int, cols: Int, dtype: DType, seed: UInt64) -> Weight {
            var random = SplitMix64(seed: seed)
            let values = (0..<rows * cols).map { _ in Float(Int(random.next() % 2001) - 1000) / 1000 }
            let buffer = AlignedBuffer(count: rows * cols * dtype.blockBytes)
            values.withUnsafeBytes { src in
                buffer.withUnsafeMutableBytes { dst in
                    ElementConversion.convert(src.baseAddress!, from: .float32, to: dtype, into: dst.baseAddress!, count: values.count)
                }
            }
            let info = TensorInfo(name: "w", dtype: dtype, shape: Shape([rows, cols]), byteCount: buffer.count)
            return Weight(info: info, storage: TensorStorage(buffer: buffer))
        }

        /// Runs `MatMul.matMul` with `kernels` on `n` pseudo-random rows of X and checks every
        /// output against `reference` (the scalar Swift product) within `tolerance` × columns.
        static func expectProducts(
            _ w: Weight, n: Int, tolerance: Float, label: String, kernels: KernelConfig, reference: (Weight, [Float]) -> [Float]
        ) {
            let rows = w.rows, cols = w.columns
            var random = SplitMix64(seed: 7)
            let x = (0..<n * cols).map { _ in Float(Int(random.next() % 201) - 100) / 100 }
            var y = [Float](repeating: .nan, count: n * rows)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    MatMul.matMul(w, xp.baseAddress!, yp.baseAddress!, n: n, yStride: rows, parallel: Parallel(threads: 2), kernels: kernels)
                }
            }
            for t in 0..<n {
                let want = reference(w, Array(x[t * cols..<(t + 1) * cols]))
                for r in 0..<rows {
                    let got = y[t * rows + r]
                    #expect(abs(got - want[r]) <= tolerance * Float(cols), "\(label) \(rows)x\(cols) n=\(n) t=\(t) r=\(r): \(got) vs \(want[r])")
                }
            }
        }

        @Test("matVec and matMul, every instruction set this CPU has", arguments: [DType.float32, .float16, .bfloat16], [KernelChoice.portable, .avx2, .avx512vnni])
        func products(dtype: DType, isa: KernelChoice) {
            guard isa.isSupported else { return }
            let kernels = KernelConfig(isa)
            // Widths around the 8-, 16-, 32- and 64-column steps of the AVX2 and AVX-512 bodies.
            for (rows, cols, n) in [(1, 1, 1), (5, 7, 2), (13, 37, 5), (64, 64, 4), (33, 129, 7), (3, 8, 9), (4, 200, 1), (3, 1000, 2),
                                     // Prefill: 16- and 6-token groups of the AVX-512 and AVX2 micro-kernels with remainders, two column slices.
                                     (33, 300, 16), (17, 520, 37), (40, 64, 13),
                                     // Columns a multiple of 512 (where rows of X alias in L1) and rows past one block of 8 panels per thread.
                                     (9, 512, 18), (300, 1024, 20)] {
                let w = Self.weight(rows: rows, cols: cols, dtype: dtype, seed: UInt64(rows * 1000 + cols))
                Self.expectProducts(w, n: n, tolerance: 1e-4, label: "\(dtype) \(isa)", kernels: kernels, reference: MatMul.scalarMatVec)
            }
        }

        /// The portable bodies, or the CPU's best.
        static func kernels(portable: Bool) -> KernelConfig { portable ? KernelConfig(.portable) : .automatic }

        @Test("softmax is stable for huge logits and sums to one")
        func softmax() {
            var x: [Float] = [1000, 1001, 999, -1e30]
            x.withUnsafeMutableBufferPointer { Ops.softmax($0.baseAddress!, count: 4) }
            #expect(abs(x.reduce(0, +) - 1) < 1e-6)
            #expect(x[1] > x[0] && x[0] > x[2] && x[3] == 0)
        }

        @Test("the sampler is greedy at temperature 0 and reproducible with a seed")
        func sampler() {
            let logits: [Float] = [0.1, 2.5, 2.4, -1, 0.7]
            var greedy = Sampler()
            #expect(greedy.sample(logits, history: []) == 1)
            var penalized = Sampler(repetitionPenalty: 1.5)
            #expect(penalized.sample(logits, history: [1]) == 2)
            var a = Sampler(temperature: 1, topK: 3, topP: 0.95, seed: 42), b = Sampler(temperature: 1, topK: 3, topP: 0.95, seed: 42)
            let runA = (0..<50).map { _ in a.sample(logits, history: []) }
            let runB = (0..<50).map { _ in b.sample(logits, history: []) }
            #expect(runA == runB)
            #expect(Set(runA).isSubset(of: [1, 2, 4]), "top-k 3 keeps only the three best")
            #expect(Set(runA).count > 1, "temperature 1 must vary")
        }
    }
}

extension KernelSwitches.KernelTests {
    static func randomValues(_ count: Int, seed: UInt64, scale: Float) -> [Float] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in (Float(Int(random.next() % 200_001)) / 100_000 - 1) * scale }
    }

    @Test("SwiGLU and softmax with the vector exp match libm's one value at a time, AVX2 and portable", arguments: [false, true])
    func activations(portable: Bool) {
        let kernels = Self.kernels(portable: portable)
        for count in [0, 1, 7, 8, 9, 31, 64, 1537] {
            // Gates across silu's whole range, including where exp(-g) overflows or vanishes.
            var gate = Self.randomValues(count, seed: UInt64(count), scale: 120)
            if count > 3 { gate[0] = -100; gate[1] = 100; gate[2] = 0 }
            let up = Self.randomValues(count, seed: UInt64(count) + 9, scale: 3)
            var want = gate
            gate.withUnsafeMutableBufferPointer { g in up.withUnsafeBufferPointer { Ops.swiglu(g.baseAddress!, $0.baseAddress!, count: count, kernels: kernels) } }
            want.withUnsafeMutableBufferPointer { g in up.withUnsafeBufferPointer { Ops.scalarSwiglu(g.baseAddress!, $0.baseAddress!, count: count) } }
            for i in 0..<count { #expect(abs(gate[i] - want[i]) <= 4e-7 * max(1, abs(want[i])), "swiglu \(count) [\(i)]") }

            var scores = Self.randomValues(count, seed: UInt64(count) + 3, scale: 40)
            var reference = scores
            scores.withUnsafeMutableBufferPointer { Ops.softmax($0.baseAddress!, count: count, kernels: kernels) }
            reference.withUnsafeMutableBufferPointer { Ops.scalarSoftmax($0.baseAddress!, count: count) }
            for i in 0..<count { #expect(abs(scores[i] - reference[i]) <= 1e-6 * max(reference[i], 1e-30) + 1e-37, "softmax \(count) [\(i)]") }
            if count > 0 { #expect(abs(scores.reduce(0, +) - 1) < 1e-5) }
        }
    }

    @Test("one head of attention matches the scalar reference on uneven head sizes and lengths, AVX2 and portable", arguments: [false, true])
    func attention(portable: Bool) {
        let kernels = Self.kernels(portable: portable)
        for headDim in [1, 7, 8, 31, 64, 65, 100, 128] {
            for length in [1, 2, 3, 4, 5, 17, 130] {
                let stride = headDim * 3 + 5  // other heads' keys sit between one position's and the next
                let seed = UInt64(headDim * 1000 + length)
                let q = Self.randomValues(headDim, seed: seed, scale: 2)
                let keys = Self.randomValues(length * stride, seed: seed + 1, scale: 2)
                let values = Self.randomValues(length * stride, seed: seed + 2, scale: 3)
                let scale = 1 / Float(headDim).squareRoot()
                var scores = [Float](repeating: .nan, count: length), out = [Float](repeating: .nan, count: headDim)
                var wantScores = scores, want = out
                q.withUnsafeBufferPointer { q in
                    keys.withUnsafeBufferPointer { k in
                        values.withUnsafeBufferPointer { v in
                            scores.withUnsafeMutableBufferPointer { s in
                                out.withUnsafeMutableBufferPointer { o in
                                    Ops.attend(q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!, stride: stride, headDim: headDim,
                                               length: length, scale: scale, scores: s.baseAddress!, into: o.baseAddress!, kernels: kernels)
                                }
                            }
                            wantScores.withUnsafeMutableBufferPointer { s in
                                want.withUnsafeMutableBufferPointer { o in
                                    Ops.scalarAttend(q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!, stride: stride, headDim: headDim,
                                                     length: length, scale: scale, scores: s.baseAddress!, into: o.baseAddress!)
                                }
                            }
                        }
                    }
                }
                let label = "head \(headDim), length \(length)"
                for p in 0..<length { #expect(abs(scores[p] - wantScores[p]) <= 2e-6 * max(wantScores[p], 1e-3), "\(label) score [\(p)]") }
                for c in 0..<headDim { #expect(abs(out[c] - want[c]) <= 2e-5 * 3, "\(label) out [\(c)]: \(out[c]) vs \(want[c])") }
            }
        }
    }
}
