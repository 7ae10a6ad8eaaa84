import Testing
import WeightKitCore
@testable import WeightKitQuantize

/// An in-memory source of one tensor stored as `dtype` (f32, f16 or bf16).
private final class RawSource: TensorSource, @unchecked Sendable {
    let formatName = "memory"
    let files = ["memory"]
    let tensors: [TensorInfo]
    let metadata = Metadata()
    let bytes: [UInt8]

    init(name: String, dtype: DType, rows: Int, cols: Int, values: [Float]) {
        var out = [UInt8](repeating: 0, count: values.count * dtype.blockBytes)
        unsafe values.withUnsafeBytes { src in
            unsafe out.withUnsafeMutableBytes { dst in
                unsafe ElementConversion.convert(src.baseAddress!, from: .float32, to: dtype, into: dst.baseAddress!, count: values.count)
            }
        }
        bytes = out
        tensors = [TensorInfo(name: name, dtype: dtype, shape: Shape([rows, cols]), byteCount: out.count)]
    }

    /// The stored values read back as f32 (what the Swift encoders see).
    var decoded: [Float] {
        let dtype = tensors[0].dtype, count = bytes.count / dtype.blockBytes
        var out = [Float](repeating: 0, count: count)
        unsafe bytes.withUnsafeBytes { src in
            unsafe out.withUnsafeMutableBytes { dst in
                unsafe ElementConversion.decodeToFloat32(src.baseAddress!, from: dtype, into: dst.baseAddress!, count: count)
            }
        }
        return out
    }

    func storage(of tensor: TensorInfo) throws -> TensorStorage { TensorStorage(buffer: AlignedBuffer(bytes)) }
}

/// `wk_encode_blocks32` (Q8_0, Q4_0 and Q4_1 straight from f32, f16 or bf16, with the error
/// measured in the same pass): every body gives the bytes of the Swift block encoders (which
/// the gguf-py and llama-quantize fixtures pin down) on the values converted to f32, and the
/// error statistics of decoding those bytes with Core's reference decoder.
@Suite("Fused Q8_0/Q4_0/Q4_1 encoder")
struct FusedEncoderTests {
    static let cols = 256

    /// Random rows plus blocks that probe each step: zeros, a constant, ± ties for the largest
    /// magnitude, halves that round away from zero, subnormals, tiny and large magnitudes.
    static func rows() -> [Float] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001) / 1_000_000 - 1
        }
        var v: [Float] = (0..<(6 * cols)).map { _ in next() * 0.05 }
        v += [Float](repeating: 0, count: 32)
        v += [Float](repeating: 0.375, count: 32)
        v += (0..<32).map { $0 % 2 == 0 ? 0.5 : -0.5 }
        v += (0..<32).map { $0 % 2 == 0 ? -2 : 2 }
        v += (0..<32).map { $0 == 0 ? 127 : Float($0) + 0.5 }
        v += (0..<32).map { $0 == 3 ? -127 : -Float($0) - 0.5 }
        v += (0..<32).map { Float($0) * 1e-40 }
        v += (0..<32).map { (Float($0) - 16) * 3e-6 }
        v += (0..<32).map { (Float($0) - 16) * 2e3 }
        v += (0..<32).map { $0 == 31 ? -1 : Float($0) / 64 }
        while v.count % cols != 0 { v.append(next()) }
        return v
    }

    @Test("bytes equal the Swift encoders' and the error is the decoded blocks'", arguments: [QuantScheme.q8_0, .q4_0, .q4_1])
    func sameBytes(scheme: QuantScheme) throws {
        let values = Self.rows(), rows = values.count / Self.cols
        for dtype in [DType.float32, .float16, .bfloat16] {
            let base = RawSource(name: "w", dtype: dtype, rows: rows, cols: Self.cols, values: values)
            let floats = base.decoded
            let expected = scheme.encode(floats)
            var reference = QuantErrorStats()
            let decoded = scheme.decode(expected)
            unsafe floats.withUnsafeBufferPointer { x in
                unsafe decoded.withUnsafeBufferPointer { y in
                    for b in 0..<(floats.count / 32) { unsafe reference.add(x.baseAddress! + 32 * b, y.baseAddress! + 32 * b, count: 32) }
                }
            }
            for body in EncoderBody.allCases where body.rawValue <= EncoderBody.best.rawValue {
                let source = try QuantizedTensorSource(base: base, targets: ["w": scheme], body: body) { n, run in
                    for lower in stride(from: 0, to: n, by: 3) { run(lower..<min(n, lower + 3)) }
                }
                let bytes = try source.storage(of: source.tensors[0]).bytes
                #expect(bytes == expected, "\(scheme.rawValue) from \(dtype.shortName), \(body) body")
                if let at = zip(bytes, expected).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                    Issue.record("first difference at byte \(at) (block \(at / scheme.dtype.blockBytes))")
                }
                let stats = try #require(source.errorStats["w"])
                #expect(stats.count == reference.count)
                #expect(stats.maxAbsError == reference.maxAbsError)
                for (a, b) in [
                    (stats.sumSquaredError, reference.sumSquaredError), (stats.sumSquaredReference, reference.sumSquaredReference),
                    (stats.sumSquaredQuantized, reference.sumSquaredQuantized), (stats.dot, reference.dot),
                ] {
                    #expect(abs(a - b) <= 1e-5 * abs(b), "\(scheme.rawValue) from \(dtype.shortName), \(body): \(a) vs \(b)")
                }
            }
        }
    }

    @Test("NaN and ±Inf are refused naming the row and column, from every dtype and body", arguments: [QuantScheme.q8_0, .q4_0, .q4_1])
    func refusesNonFinite(scheme: QuantScheme) throws {
        for dtype in [DType.float32, .float16, .bfloat16] {
            for bad in [Float.nan, .infinity, -.infinity] {
                var values = [Float](repeating: 0.25, count: 8 * Self.cols)
                values[5 * Self.cols + 77] = bad
                values[6 * Self.cols + 1] = .nan  // a later one is not the one named
                let base = RawSource(name: "w", dtype: dtype, rows: 8, cols: Self.cols, values: values)
                for body in EncoderBody.allCases where body.rawValue <= EncoderBody.best.rawValue {
                    let source = try QuantizedTensorSource(base: base, targets: ["w": scheme], body: body)
                    let error = #expect(throws: FormatError.self) { _ = try source.storage(of: source.tensors[0]) }
                    #expect(error?.kind == .nonFinite)
                    #expect(error?.tensorName == "w")
                    #expect(error?.message.contains("row 5, column 77 is \(bad)") == true, "\(error?.message ?? "")")
                }
            }
        }
    }
}
