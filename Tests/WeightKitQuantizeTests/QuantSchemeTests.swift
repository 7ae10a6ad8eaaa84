import Glibc
import Testing
import WeightKitCore
import WeightKitQuantize
import WeightKitTestSupport

/// The committed golden blocks (fixtures/quant/generate.py, made by gguf.quants).
private func goldenInput() throws -> [Float] {
    floats(try readBytes(fixture("quant/input.f32")))
}

private func floats(_ bytes: [UInt8]) -> [Float] {
    stride(from: 0, to: bytes.count, by: 4).map { i in
        Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
    }
}

@Suite("Quantization schemes")
struct QuantSchemeTests {
    /// The schemes gguf.quants' golden blocks cover (the others: KQuantEncoderTests, against ggml-quants.c).
    static let numpySchemes: [QuantScheme] = [.q8_0, .q4_0, .q4_1]

    @Test("encoders give gguf.quants' bytes on random and adversarial blocks", arguments: numpySchemes)
    func goldenBytes(scheme: QuantScheme) throws {
        let input = try goldenInput()
        let expected = try readBytes(fixture("quant/\(scheme.rawValue).bin"))
        let ours = scheme.encode(input)
        #expect(ours.count == expected.count)
        let step = scheme.dtype.blockBytes
        for b in 0..<(expected.count / step) where Array(ours[b * step..<(b + 1) * step]) != Array(expected[b * step..<(b + 1) * step]) {
            Issue.record("block \(b): ours \(ours[b * step..<(b + 1) * step].map { $0 }) gguf \(expected[b * step..<(b + 1) * step].map { $0 })")
        }
    }

    @Test("decoding gives gguf.quants.dequantize's floats bit for bit", arguments: numpySchemes)
    func goldenDecode(scheme: QuantScheme) throws {
        let bytes = try readBytes(fixture("quant/\(scheme.rawValue).bin"))
        let expected = floats(try readBytes(fixture("quant/\(scheme.rawValue).deq.f32")))
        let ours = scheme.decode(bytes)
        #expect(ours.count == expected.count)
        let mismatches = zip(ours, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(4))")
    }

    @Test("an all-zero block encodes to zero scale (q4_0: d = 0 / −8 = −0) and the zero code")
    func zeros() {
        #expect(QuantScheme.q8_0.encode([Float](repeating: 0, count: 32)) == [UInt8](repeating: 0, count: 34))
        #expect(QuantScheme.q4_0.encode([Float](repeating: 0, count: 32)) == [0x00, 0x80] + [UInt8](repeating: 0x88, count: 16))
        #expect(QuantScheme.q4_1.encode([Float](repeating: 0, count: 32)) == [UInt8](repeating: 0, count: 20))
    }

    @Test("q8_0 rounds ties away from zero, not to even")
    func q8Ties() {
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127; x[1] = 2.5; x[2] = -2.5; x[3] = 3.5
        let q = QuantScheme.q8_0.encode(x)
        #expect(Array(q[0..<2]) == [0x00, 0x3C])  // d = 1.0 in f16
        #expect(Int8(bitPattern: q[3]) == 3 && Int8(bitPattern: q[4]) == -3 && Int8(bitPattern: q[5]) == 4)
    }

    @Test("error statistics: rmse, max error, snr and cosine of a known pair")
    func stats() {
        var s = QuantErrorStats()
        let x: [Float] = [1, 2, 3, 4], y: [Float] = [1, 2, 3, 3]
        unsafe x.withUnsafeBufferPointer { a in unsafe y.withUnsafeBufferPointer { b in
            unsafe s.add(a.baseAddress!, b.baseAddress!, count: 4)
        } }
        #expect(s.rmse == 0.5)
        #expect(s.maxAbsError == 1)
        #expect(abs(s.snrDB - 10 * log10(30.0)) < 1e-9)
        #expect(abs(s.cosine - 26 / (30.0 * 23).squareRoot()) < 1e-12)
    }
}
