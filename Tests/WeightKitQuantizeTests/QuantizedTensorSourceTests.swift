import Testing
import WeightKitCore
import WeightKitQuantize

/// A tiny in-memory tensor source.
private final class MemorySource: TensorSource, @unchecked Sendable {
    let formatName = "memory"
    let files = ["memory"]
    let tensors: [TensorInfo]
    let metadata = Metadata()
    let data: [String: [UInt8]]

    init(_ items: [(String, [Int], [Float])]) {
        var infos: [TensorInfo] = [], data: [String: [UInt8]] = [:]
        for (name, dims, values) in items {
            infos.append(TensorInfo(name: name, dtype: .float32, shape: Shape(dims), byteCount: values.count * 4))
            data[name] = values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        }
        tensors = infos
        self.data = data
    }

    func storage(of tensor: TensorInfo) throws -> TensorStorage {
        TensorStorage(buffer: AlignedBuffer(data[tensor.name]!))
    }
}

@Suite("Quantized tensor source")
struct QuantizedTensorSourceTests {
    static let values: [Float] = (0..<(6 * 64)).map { Float(($0 * 37) % 101) / 50 - 1 }

    @Test("quantized tensors carry block dtype and bytes equal to the scheme's encoder; others pass through", arguments: QuantScheme.allCases)
    func quantizes(scheme: QuantScheme) throws {
        let base = MemorySource([("w", [6, 64], Self.values), ("norm", [64], Array(Self.values.prefix(64)))])
        // Rows split in pieces of at most 2, as a thread pool would.
        let source = try QuantizedTensorSource(base: base, targets: ["w": scheme]) { n, body in
            for lower in stride(from: 0, to: n, by: 2) { body(lower..<min(n, lower + 2)) }
        }
        let w = try #require(source.tensor(named: "w"))
        #expect(w.dtype == scheme.dtype && w.byteCount == 6 * 2 * scheme.dtype.blockBytes)
        #expect(try source.storage(of: w).bytes == scheme.encode(Self.values))
        #expect(source.tensor(named: "norm")?.dtype == .float32)
        let stats = try #require(source.errorStats["w"])
        #expect(stats.count == 6 * 64)
        #expect(stats.cosine > 0.9 && stats.cosine <= 1)
        #expect(source.errorStats["norm"] == nil)
    }

    @Test("rows that are not whole blocks are refused with shapeMismatch naming the tensor")
    func refusesPartialBlocks() {
        let base = MemorySource([("odd", [2, 48], [Float](repeating: 1, count: 96))])
        #expect {
            _ = try QuantizedTensorSource(base: base, targets: ["odd": .q8_0])
        } throws: { error in
            let e = error as? FormatError
            return e?.kind == .shapeMismatch && e?.tensorName == "odd"
        }
    }
}
