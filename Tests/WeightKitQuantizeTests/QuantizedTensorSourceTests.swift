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
    static let values: [Float] = (0..<(6 * 256)).map { Float(($0 * 37) % 101) / 50 - 1 }

    @Test("quantized tensors carry block dtype and bytes equal to the scheme's encoder; others pass through", arguments: QuantScheme.allCases)
    func quantizes(scheme: QuantScheme) throws {
        let base = MemorySource([("w", [6, 256], Self.values), ("norm", [256], Array(Self.values.prefix(256)))])
        // Rows split in pieces of at most 2, as a thread pool would.
        let source = try QuantizedTensorSource(base: base, targets: ["w": scheme]) { n, body in
            for lower in stride(from: 0, to: n, by: 2) { body(lower..<min(n, lower + 2)) }
        }
        let w = try #require(source.tensor(named: "w"))
        #expect(w.dtype == scheme.dtype && w.byteCount == 6 * scheme.rowBytes(columns: 256)!)
        #expect(try source.storage(of: w).bytes == scheme.encode(Self.values))
        #expect(source.tensor(named: "norm")?.dtype == .float32)
        let stats = try #require(source.errorStats["w"])
        #expect(stats.count == 6 * 256)
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

    @Test("K types need rows of whole 256-value super-blocks")
    func refusesPartialSuperBlocks() {
        let base = MemorySource([("w", [2, 96], [Float](repeating: 1, count: 192))])
        #expect(throws: FormatError.self) { _ = try QuantizedTensorSource(base: base, targets: ["w": .q4_k]) }
        #expect(throws: Never.self) { _ = try QuantizedTensorSource(base: base, targets: ["w": .q5_0]) }
    }

    @Test("an importance vector gives the scheme's weighted bytes; per-expert vectors apply to each expert's rows",
          arguments: [QuantScheme.q4_k, .q6_k, .q2_k, .iq4_nl, .q5_1])
    func importance(scheme: QuantScheme) throws {
        let w0: [Float] = (0..<256).map { Float(($0 * 13) % 17) + 0.5 }, w1: [Float] = w0.reversed()
        let base = MemorySource([("w", [6, 256], Self.values), ("moe", [2, 3, 256], Self.values)])
        let source = try QuantizedTensorSource(
            base: base, targets: ["w": scheme, "moe": scheme], importance: ["w": w0, "moe": w0 + w1])
        let plain = try source.storage(of: try #require(source.tensor(named: "w"))).bytes
        #expect(plain == (try scheme.encode(Self.values, columns: 256, importance: w0)))
        #expect(plain != scheme.encode(Self.values))
        let moe = try source.storage(of: try #require(source.tensor(named: "moe"))).bytes
        let half = Self.values.count / 2
        let expected = try scheme.encode(Array(Self.values[..<half]), columns: 256, importance: w0)
            + scheme.encode(Array(Self.values[half...]), columns: 256, importance: w1)
        #expect(moe == expected)
        #expect(throws: FormatError.self) {
            _ = try QuantizedTensorSource(base: base, targets: ["w": scheme], importance: ["w": [1, 2, 3]])
        }
    }

    @Test("a NaN or ±Inf weight is refused naming the tensor, row and column", arguments: [Float.nan, .infinity, -.infinity])
    func nonFinite(bad: Float) throws {
        var values = Self.values
        values[4 * 256 + 9] = bad
        values[5 * 256 + 1] = bad
        let base = MemorySource([("w", [6, 256], values)])
        for scheme in [QuantScheme.q8_0, .q4_k] {
            let source = try QuantizedTensorSource(base: base, targets: ["w": scheme]) { n, body in
                for lower in stride(from: 0, to: n, by: 2).reversed() { body(lower..<min(n, lower + 2)) }
            }
            #expect {
                _ = try source.storage(of: source.tensor(named: "w")!)
            } throws: { error in
                let e = error as? FormatError
                return e?.kind == .nonFinite && e?.tensorName == "w" && e?.message.contains("row 4, column 9") == true
            }
        }
    }
}
