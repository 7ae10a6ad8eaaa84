import Testing
import WeightKitCore

/// A source holding tensors in memory (tests only).
final class MemorySource: TensorSource {
    let tensors: [TensorInfo]
    let data: [String: [UInt8]]
    var formatName: String { "memory" }
    var files: [String] { [] }
    var metadata: Metadata { Metadata() }

    init(_ items: [(TensorInfo, [UInt8])]) {
        tensors = items.map(\.0)
        data = Dictionary(uniqueKeysWithValues: items.map { ($0.0.name, $0.1) })
    }

    func storage(of tensor: TensorInfo) throws -> TensorStorage {
        TensorStorage(buffer: AlignedBuffer(data[tensor.name]!))
    }
}

func floatBytes(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
func floats(_ bytes: [UInt8]) -> [Float] {
    stride(from: 0, to: bytes.count, by: 4).map { (i: Int) -> Float in
        var bits: UInt32 = 0
        for k in 0..<4 { bits |= UInt32(bytes[i + k]) << UInt32(8 * k) }
        return Float(bitPattern: bits)
    }
}

@Suite("Tensor transforms")
struct TensorTransformTests {
    @Test("transpose swaps a 2-D tensor's dimensions")
    func transpose() throws {
        let info = TensorInfo(name: "w", dtype: .float32, shape: [2, 3], byteCount: 24)
        let source = MemorySource([(info, floatBytes([1, 2, 3, 4, 5, 6]))])
        let entry = try TransformedTensorSource.entry(input: info, name: "wt", steps: [.transpose])
        #expect(entry.output.shape == [3, 2])
        let out = TransformedTensorSource(base: source, entries: [entry])
        #expect(floats(try out.storage(of: entry.output).bytes) == [1, 4, 2, 5, 3, 6])
    }

    @Test("permuting rows moves whole quantized rows, then dequantizing gives the rows' values")
    func permuteThenDequantize() throws {
        // Two q8_0 rows of one block each: scale 1.0 (f16 0x3C00), quants 0…31 and 32…63.
        var bytes: [UInt8] = []
        for row in 0..<2 {
            bytes += [0x00, 0x3C] + (0..<32).map { UInt8(row * 32 + $0) }
        }
        let info = TensorInfo(name: "q", dtype: .q8_0, shape: [2, 32], byteCount: 68)
        let source = MemorySource([(info, bytes)])
        let entry = try TransformedTensorSource.entry(input: info, name: "q", steps: [.permuteRows([1, 0]), .dequantize])
        #expect(entry.output.dtype == .float32 && entry.output.byteCount == 256)
        let out = TransformedTensorSource(base: source, entries: [entry])
        #expect(floats(try out.storage(of: entry.output).bytes) == (32..<64).map(Float.init) + (0..<32).map(Float.init))
    }

    @Test("steps that do not fit the tensor are refused with shapeMismatch")
    func refused() {
        let q = TensorInfo(name: "q", dtype: .q8_0, shape: [2, 32], byteCount: 68)
        #expect(throws: FormatError.self) { try TransformedTensorSource.entry(input: q, name: "q", steps: [.transpose]) }
        #expect(throws: FormatError.self) { try TransformedTensorSource.entry(input: q, name: "q", steps: [.permuteRows([0, 0])]) }
        #expect(throws: FormatError.self) { try TransformedTensorSource.entry(input: q, name: "q", steps: [.permuteRows([0, 1, 2])]) }
    }

    @Test("block layouts agree with DType sizes; bits per weight")
    func layouts() {
        for dtype in [DType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q6_K] {
            let layout = QuantBlocks.layout(of: dtype)
            #expect(layout?.bytes == dtype.blockBytes && layout?.elements == dtype.blockElements, "\(dtype)")
        }
        #expect(QuantBlocks.bitsPerWeight(.q4_1) == 5)
        #expect(QuantBlocks.bitsPerWeight(.q8_0) == 8.5)
        #expect(QuantBlocks.bitsPerWeight(.q4_K) == 4.5)
        #expect(QuantBlocks.bitsPerWeight(.q6_K) == 6.5625)
    }
}
