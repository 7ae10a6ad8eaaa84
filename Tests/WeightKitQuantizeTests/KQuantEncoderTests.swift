import Testing
import WeightKitCore
import WeightKitQuantize
import WeightKitTestSupport

/// The committed reference bytes of ggml's own quantizers (fixtures/quant/kquant_reference.sh:
/// ggml-quants.c of llama.cpp 0c1e570 compiled as llama.cpp builds it): 48 rows of 512 values,
/// random at many scales and adversarial, every scheme with and without an importance vector.
private enum Reference {
    static let columns = 512

    static func floats(_ name: String) throws -> [Float] {
        let bytes = try readBytes(fixture("quant/kquant/\(name)"))
        return stride(from: 0, to: bytes.count, by: 4).map { i in
            Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
    }

    static func input() throws -> [Float] { try floats("input.f32") }
    static func importance() throws -> [Float] { try floats("imatrix.f32") }
    static func bytes(_ scheme: QuantScheme, weighted: Bool) throws -> [UInt8] {
        try readBytes(fixture("quant/kquant/\(scheme.rawValue)\(weighted ? ".imatrix" : "").bin"))
    }
}

/// Relative RMSE ‖x − x̂‖ / ‖x‖ over `x`.
private func relativeRMSE(_ x: ArraySlice<Float>, _ y: ArraySlice<Float>) -> Double {
    var se = 0.0, sx = 0.0
    for (a, b) in zip(x, y) {
        se += Double(a - b) * Double(a - b)
        sx += Double(a) * Double(a)
    }
    return (se / sx).squareRoot()
}

@Suite("Block encoders against ggml-quants.c")
struct KQuantEncoderTests {
    static let cases: [(QuantScheme, Bool)] = QuantScheme.allCases.flatMap { [($0, false), ($0, true)] }

    @Test("every block equals ggml's bytes, without and with an importance vector", arguments: cases)
    func referenceBytes(scheme: QuantScheme, weighted: Bool) throws {
        let input = try Reference.input()
        let expected = try Reference.bytes(scheme, weighted: weighted)
        let ours = try scheme.encode(input, columns: Reference.columns, importance: weighted ? try Reference.importance() : nil)
        #expect(ours.count == expected.count)
        let step = scheme.dtype.blockBytes, perRow = Reference.columns / scheme.blockElements
        var differing: [String] = []
        for b in 0..<(min(ours.count, expected.count) / step) where ours[b * step..<(b + 1) * step] != expected[b * step..<(b + 1) * step] {
            differing.append("row \(b / perRow) block \(b % perRow)")
        }
        #expect(differing.isEmpty, "\(scheme.rawValue)\(weighted ? " with importance" : ""): \(differing.count) blocks differ: \(differing.prefix(8))")
    }

    @Test("the importance vector is used: weighted bytes differ from unweighted (Q8_0 ignores it, as ggml)")
    func importanceMatters() throws {
        for scheme in QuantScheme.allCases {
            let same = try Reference.bytes(scheme, weighted: false) == Reference.bytes(scheme, weighted: true)
            #expect(same == !scheme.usesImportance, "\(scheme.rawValue)")
        }
    }

    /// Largest relative RMSE of the random normal rows at scales 1, 0.02 and 100 (rows 0, 1, 4, 6, 7,
    /// 10; at 1e-3 and below the f16 scales go subnormal) after a round trip through Core's
    /// dequantizer: measured (×1.2 and rounded up), so a wrong scale or a shifted nibble fails.
    static let bounds: [QuantScheme: Double] = [
        .q8_0: 0.007, .q6_k: 0.023, .q5_1: 0.047, .q5_0: 0.057, .q5_k: 0.046, .q4_1: 0.098, .q4_0: 0.112,
        .iq4_nl: 0.096, .iq4_xs: 0.096, .q4_k: 0.091, .q3_k: 0.195, .q2_k: 0.383,
    ]

    @Test("decoding gives the input back within the scheme's error", arguments: QuantScheme.allCases)
    func roundTrip(scheme: QuantScheme) throws {
        let input = try Reference.input(), cols = Reference.columns
        let decoded = scheme.decode(try scheme.encode(input, columns: cols))
        #expect(decoded.count == input.count)
        let bound = try #require(Self.bounds[scheme])
        var worst = 0.0
        for r in [0, 1, 4, 6, 7, 10] {
            worst = max(worst, relativeRMSE(input[r * cols..<(r + 1) * cols], decoded[r * cols..<(r + 1) * cols]))
        }
        #expect(worst < bound && worst > bound / 4, "\(scheme.rawValue): worst relative RMSE \(worst), bound \(bound)")
        // All-zero and constant rows decode exactly or nearly so (rows 16 and 17).
        #expect(decoded[16 * cols..<17 * cols].allSatisfy { $0 == 0 }, "\(scheme.rawValue): zero row")
        #expect(decoded[17 * cols..<18 * cols].allSatisfy { abs($0 - 0.37) < 0.37 * 0.02 }, "\(scheme.rawValue): constant row")
    }

    @Test("the block API and the row API agree without importance, and rows split anywhere give the same bytes",
          arguments: QuantScheme.allCases)
    func blockAndRowAgree(scheme: QuantScheme) throws {
        let input = try Reference.input(), cols = Reference.columns
        let rows = try scheme.encode(input, columns: cols)
        #expect(scheme.encode(input) == rows)
        let half = input.count / 2
        let split = try scheme.encode(Array(input[..<half]), columns: cols) + scheme.encode(Array(input[half...]), columns: cols)
        #expect(split == rows)
    }

    @Test("NaN and ±Inf are refused with the row and column named",
          arguments: QuantScheme.allCases, [Float.nan, .infinity, -.infinity])
    func nonFinite(scheme: QuantScheme, bad: Float) throws {
        var x = [Float](repeating: 0.5, count: 3 * 512)
        x[512 + 300] = bad
        #expect {
            _ = try scheme.encode(x, columns: 512)
        } throws: { error in
            let e = error as? FormatError
            return e?.kind == .nonFinite && e?.message.contains("row 1, column 300") == true
        }
        var w = [Float](repeating: 1, count: 512)
        w[7] = bad
        #expect(throws: FormatError.self) { _ = try scheme.encode(Array(x[..<512]), columns: 512, importance: w) }
    }

    @Test("rows that are not whole blocks, and importance vectors of the wrong length, are refused")
    func shapes() {
        #expect(throws: FormatError.self) { _ = try QuantScheme.q4_k.encode([Float](repeating: 1, count: 288), columns: 288) }
        #expect(throws: FormatError.self) { _ = try QuantScheme.q5_0.encode([Float](repeating: 1, count: 48), columns: 48) }
        #expect(throws: FormatError.self) {
            _ = try QuantScheme.q6_k.encode([Float](repeating: 1, count: 256), columns: 256, importance: [1, 2])
        }
        #expect(QuantScheme.q4_k.rowBytes(columns: 512) == 288 && QuantScheme.q4_k.rowBytes(columns: 288) == nil)
        #expect(QuantScheme.iq4_nl.rowBytes(columns: 64) == 36)
    }

    @Test("each scheme maps to its dtype and back")
    func dtypes() {
        for scheme in QuantScheme.allCases { #expect(QuantScheme(dtype: scheme.dtype) == scheme) }
        #expect(QuantScheme(dtype: .q8_K) == nil && QuantScheme(dtype: .float32) == nil)
        #expect(QuantScheme.q2_k.blockElements == 256 && QuantScheme.q5_1.blockElements == 32)
    }
}
