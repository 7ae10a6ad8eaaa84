import Testing
@testable import WeightKitRuntime
import WeightKit
import WeightKitTestSupport

/// `Transformer.preparedGraph`: the weights decode reads, copied onto huge pages (and
/// interleaved when block-quantized) — same bytes, and the file's own view still intact after
/// its resident pages were dropped.
@Suite("Prepared graph: weights copied for decode")
struct PreparedGraphTests {
    static func projections(_ g: ModelGraph) -> [Weight] {
        g.blocks.flatMap(\.matrices) + [g.unembedding!]
    }

    static func vectors(_ g: ModelGraph) -> [Weight] {
        var all: [Weight] = []
        _ = g.blocks.map { $0.mappingVectors { all.append($0); return $0 } }
        return all + [g.finalNorm, g.finalNormBias].compactMap { $0 }
    }

    @Test("every projection, the unembedding, every norm and bias are copied byte for byte; the mapped originals still read the same", arguments: ["llama", "qwen2", "gpt2"])
    func copies(_ family: String) throws {
        let model = try ModelLoader.load(path: fixture("models/\(family)"))
        let originals = Self.projections(model.graph)
        // f32 views into the file — but gpt2's Conv1D weights were transposed at load into buffers
        // of their own, which decode already reads from anonymous memory: those stay as they are.
        #expect(originals.contains { $0.storage.isMapped })
        let before = originals.map(\.storage.bytes)
        let prepared = Transformer.preparedGraph(model.graph)
        let copies = Self.projections(prepared)
        for (i, (copy, original)) in zip(copies, originals).enumerated() {
            #expect(!copy.storage.isMapped, "\(family) weight \(i) \(copy.info.name) was not copied")
            if !original.storage.isMapped {
                copy.storage.withUnsafeBytes { x in original.storage.withUnsafeBytes { y in #expect(x.baseAddress == y.baseAddress) } }
            }
            #expect(copy.info == original.info && copy.blockOrder == .rows)
            #expect(copy.storage.bytes == before[i], "\(family) \(copy.info.name): the copy differs")
            // The file's pages were dropped from memory after the copy; reading faults them back.
            #expect(original.storage.bytes == before[i], "\(family) \(original.info.name): the mapped view changed")
        }
        // Norms and biases are copied too (a read of one in the mapping faults in the file pages
        // around it): after the copy, running touches no page of the file but embedding rows.
        let (vectors, originalVectors) = (Self.vectors(prepared), Self.vectors(model.graph))
        #expect(vectors.count == originalVectors.count && vectors.count >= 2 * model.graph.blocks.count)
        for (copy, original) in zip(vectors, originalVectors) {
            #expect(!copy.storage.isMapped, "\(family) \(copy.info.name) was not copied")
            #expect(copy.info == original.info && copy.storage.bytes == original.storage.bytes, "\(family) \(copy.info.name): the copy differs")
        }
        if let tied = model.graph.unembedding, Transformer.sameBytes(tied, model.graph.tokenEmbedding) {
            // Tied: the lookups read the unembedding's copy, so the file's pages stay released.
            #expect(!prepared.tokenEmbedding.storage.isMapped && Transformer.sameBytes(prepared.tokenEmbedding, prepared.unembedding!))
        } else {
            #expect(prepared.tokenEmbedding.storage.isMapped, "an untied embedding is only looked up by row: left in the file")
        }
        // Idempotent: a prepared graph is returned as it is (no second copy).
        let again = Self.projections(Transformer.preparedGraph(prepared))
        for (a, b) in zip(again, copies) {
            a.storage.withUnsafeBytes { x in b.storage.withUnsafeBytes { y in #expect(x.baseAddress == y.baseAddress) } }
        }
    }

    @Test("no copy when it would take more than half of the available memory")
    func memoryGuard() throws {
        let model = try ModelLoader.load(path: fixture("models/llama"))
        let bytes = Self.projections(model.graph).reduce(0) { $0 + $1.storage.count }
        let tight = Self.projections(Transformer.preparedGraph(model.graph, availableMemory: 2 * bytes - 4096))
        #expect(tight.allSatisfy { $0.storage.isMapped }, "left in the file's mapping")
        let enough = Self.projections(Transformer.preparedGraph(model.graph, availableMemory: 2 * bytes + 4096 * 64))
        #expect(enough.allSatisfy { !$0.storage.isMapped })
    }

    @Test("block-quantized projections are interleaved in the copy and give the same products", arguments: [QuantScheme.q8_0, .q4_0, .q4_1])
    func quantized(_ scheme: QuantScheme) throws {
        var graph = try ModelLoader.load(path: fixture("models/llama")).graph
        func quantize(_ w: Weight) -> Weight {
            let values = w.storage.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let bytes = scheme.encode(values)
            let info = TensorInfo(name: w.info.name, dtype: scheme.dtype, shape: w.info.shape, byteCount: bytes.count)
            return Weight(info: info, storage: TensorStorage(buffer: AlignedBuffer(bytes)))
        }
        graph.blocks = graph.blocks.map { $0.mappingMatrices(quantize) }
        graph.unembedding = quantize(graph.unembedding!)
        let prepared = Transformer.preparedGraph(graph)
        var random = SplitMix64(seed: 5)
        for (copy, original) in zip(Self.projections(prepared), Self.projections(graph)) {
            #expect(copy.blockOrder == .interleaved4 && copy.info == original.info)
            let x = (0..<original.columns).map { _ in Float(Int(random.next() % 201) - 100) / 100 }
            var y = [Float](repeating: .nan, count: original.rows), want = y
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { MatMul.matVec(copy, xp.baseAddress!, $0.baseAddress!, parallel: Parallel(threads: 2)) }
                want.withUnsafeMutableBufferPointer { MatMul.matVec(original, xp.baseAddress!, $0.baseAddress!, parallel: Parallel(threads: 1)) }
            }
            // The interleaved kernel folds its sums in another order: equal to f32 rounding.
            for r in 0..<original.rows {
                #expect(abs(y[r] - want[r]) <= 1e-6 * Float(original.columns), "\(scheme) \(original.info.name) row \(r): \(y[r]) vs \(want[r])")
            }
        }
    }
}
