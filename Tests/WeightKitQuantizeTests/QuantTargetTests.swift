import Testing
import WeightKitCore

@testable import WeightKitQuantize

/// A tiny in-memory f32 tensor source.
private final class Floats: TensorSource, @unchecked Sendable {
    let formatName = "memory"
    let files = ["memory"]
    let tensors: [TensorInfo]
    let metadata = Metadata()
    let data: [String: [UInt8]]

    init(_ name: String, _ dims: [Int], _ values: [Float]) {
        tensors = [TensorInfo(name: name, dtype: .float32, shape: Shape(dims), byteCount: values.count * 4)]
        data = [name: values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }]
    }

    func storage(of tensor: TensorInfo) throws -> TensorStorage {
        TensorStorage(buffer: AlignedBuffer(data[tensor.name]!))
    }
}

/// `QuantizedTensorSource(base:targets: [String: QuantTarget])`, the mix path's entry: missing
/// encoders are refused by name; importance reaches the encoder.
@Suite("Quant targets")
struct QuantTargetTests {
    static let values: [Float] = (0..<(6 * 64)).map { Float(($0 * 37) % 101) / 50 - 1 }
    fileprivate static let base = Floats("w", [2, 3, 64], values)

    static func bytes(_ target: QuantTarget) throws -> [UInt8] {
        let source = try QuantizedTensorSource(base: base, targets: ["w": target])
        return try source.storage(of: source.tensor(named: "w")!).bytes
    }

    static func error(_ target: QuantTarget) -> FormatError? {
        do { _ = try QuantizedTensorSource(base: base, targets: ["w": target]); return nil } catch { return error }
    }

    @Test("Q8_0 takes importance and writes what ggml writes (it ignores it); wrong sizes are refused")
    func q8_0() throws {
        let importance = [Float](repeating: 1, count: 2 * 64)
        #expect(try Self.bytes(QuantTarget(dtype: .q8_0, importance: importance)) == QuantScheme.q8_0.encode(Self.values))
        #expect(Self.error(QuantTarget(dtype: .q8_0, importance: [1, 2]))?.kind == .shapeMismatch)
        // One importance row per stacked matrix: 64 values for a [2, 3, 64] tensor is too few.
        #expect(Self.error(QuantTarget(dtype: .q8_0, importance: Array(importance.prefix(64))))?.kind == .shapeMismatch)
    }

    @Test("a type without an encoder is refused by name")
    func missingEncoder() {
        #expect(Self.error(QuantTarget(dtype: .iq2_XXS))?.message.contains("no encoder for IQ2_XXS") == true)
    }

    @Test("importance reaches the encoder: Q4_0 with an importance vector writes other blocks")
    func importanceReachesTheEncoder() throws {
        // Column 0 of every 32 matters 1000× more: ggml's weighted Q4_0 then fits it better than the reference.
        let importance = (0..<(2 * 64)).map { $0 % 32 == 0 ? Float(1000) : 1 }
        #expect(try Self.bytes(QuantTarget(dtype: .q4_0, importance: importance)) != (try Self.bytes(QuantTarget(dtype: .q4_0))))
    }
}
