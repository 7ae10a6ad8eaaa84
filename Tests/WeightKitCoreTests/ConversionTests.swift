import Foundation
import Testing
import WeightKitCore
import WeightKitTestSupport

/// Float conversions against numpy (f16) and ml_dtypes (bf16, f8), recorded by
/// fixtures/safetensors/generate.py in conversions.json.
@Suite("Element conversions match numpy and ml_dtypes")
struct ConversionTests {
    static let cases: [String: [UInt32]] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: fixture("safetensors/conversions.json")))
        let object = try! JSONSerialization.jsonObject(with: data) as! [String: [NSNumber]]
        return object.mapValues { $0.map(\.uint32Value) }
    }()

    func convert(_ input: [UInt32], from: DType, to: DType, outWidth: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: input.count * outWidth)
        input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                ElementConversion.convert(src.baseAddress!, from: from, to: to, into: dst.baseAddress!, count: input.count)
            }
        }
        return out
    }

    func u16(_ bytes: [UInt8]) -> [UInt16] {
        stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
    }

    func u32(_ bytes: [UInt8]) -> [UInt32] {
        stride(from: 0, to: bytes.count, by: 4).map { i in (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i + $1]) << (8 * $1) } }
    }

    @Test("f32 → f16 rounds to nearest even exactly as numpy, including ties, overflow, subnormals, NaN")
    func f32ToF16() {
        let input = Self.cases["f32_bits"]!
        let ours = u16(convert(input, from: .float32, to: .float16, outWidth: 2))
        let reference = Self.cases["f16_bits"]!.map { UInt16($0) }
        for i in input.indices {
            let refIsNaN = (reference[i] & 0x7C00) == 0x7C00 && (reference[i] & 0x3FF) != 0
            if refIsNaN {
                #expect((ours[i] & 0x7C00) == 0x7C00 && (ours[i] & 0x3FF) != 0, "f32 bits \(input[i]) must stay NaN")
            } else {
                #expect(ours[i] == reference[i], "f32 bits \(String(input[i], radix: 16))")
            }
        }
    }

    @Test("f32 → bf16 rounds to nearest even exactly as ml_dtypes")
    func f32ToBF16() {
        let input = Self.cases["f32_bits"]!
        let ours = u16(convert(input, from: .float32, to: .bfloat16, outWidth: 2))
        let reference = Self.cases["bf16_bits"]!.map { UInt16($0) }
        for i in input.indices {
            if (reference[i] & 0x7F80) == 0x7F80 && (reference[i] & 0x7F) != 0 {
                #expect((ours[i] & 0x7F80) == 0x7F80 && (ours[i] & 0x7F) != 0)
            } else {
                #expect(ours[i] == reference[i], "f32 bits \(String(input[i], radix: 16))")
            }
        }
    }

    @Test("every f16 value decodes to the same f32 as numpy")
    func allHalves() {
        let halves = (0..<65536).map { UInt16($0) }
        var out = [Float](repeating: 0, count: halves.count)
        halves.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                ElementConversion.decodeToFloat32(src.baseAddress!, from: .float16, into: dst.baseAddress!, count: halves.count)
            }
        }
        let reference = Self.cases["f16_all_to_f32_bits"]!
        var mismatches = 0
        for i in halves.indices where out[i].bitPattern != reference[i] {
            // NaN payloads may differ only in the quiet bit, both must be NaN.
            if !(out[i].isNaN && Float(bitPattern: reference[i]).isNaN) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test("every f8 value (E4M3FN and E5M2) decodes as ml_dtypes does", arguments: [DType.float8E4M3, .float8E5M2])
    func allF8(dtype: DType) {
        let bytes = (0..<256).map { UInt8($0) }
        var out = [Float](repeating: 0, count: 256)
        bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                ElementConversion.decodeToFloat32(src.baseAddress!, from: dtype, into: dst.baseAddress!, count: 256)
            }
        }
        let reference = Self.cases[dtype == .float8E4M3 ? "e4m3_all_to_f32_bits" : "e5m2_all_to_f32_bits"]!
        for i in 0..<256 {
            let want = Float(bitPattern: reference[i])
            if want.isNaN { #expect(out[i].isNaN, "byte \(i)") } else { #expect(out[i].bitPattern == want.bitPattern, "byte \(i)") }
        }
    }

    @Test("the SIMD path and the scalar path agree on unaligned buffers of every length")
    func unalignedTails() {
        let values: [Float] = (0..<37).map { Float($0) * 0.37 - 5 }
        var raw = [UInt8](repeating: 0, count: 1 + values.count * 4)
        values.withUnsafeBytes { raw.replaceSubrange(1..., with: $0) }
        for n in 0...values.count {
            var out = [UInt16](repeating: 0, count: n)
            raw.withUnsafeBytes { src in
                out.withUnsafeMutableBytes { dst in
                    if n > 0 { ElementConversion.convert(src.baseAddress! + 1, from: .float32, to: .float16, into: dst.baseAddress!, count: n) }
                }
            }
            #expect(out == values.prefix(n).map { Float16($0).bitPattern })
        }
    }

    @Test("f16 → bf16 and bf16 → f16 round once, through exact f32")
    func halfToBFloat() {
        let x: [Float] = [1.0009765625, 3.140625, -0.0, 65504, 1e-7]
        var halves = x.map { Float16($0).bitPattern }
        var out = [UInt16](repeating: 0, count: x.count)
        halves.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                ElementConversion.convert(src.baseAddress!, from: .float16, to: .bfloat16, into: dst.baseAddress!, count: x.count)
            }
        }
        #expect(out == halves.map { FloatBits.bfloatBits(Float(Float16(bitPattern: $0))) })
        halves = out
        halves.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                ElementConversion.convert(src.baseAddress!, from: .bfloat16, to: .float16, into: dst.baseAddress!, count: x.count)
            }
        }
        #expect(out == halves.map { Float16(FloatBits.float(bfloatBits: $0)).bitPattern })
    }
}
