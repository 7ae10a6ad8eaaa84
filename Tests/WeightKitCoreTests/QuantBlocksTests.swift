import Foundation
import Testing
import WeightKitCore
import WeightKitTestSupport

/// Every block type's decoder against gguf-py's `gguf.quants.dequantize` (ggml's formula for
/// Q8_1, Q8_K, Q1_0 and Q2_0, which gguf-py cannot decode), on the blocks of
/// `fixtures/quant/generate_all_types.py`: random blocks with finite scales and edge blocks.
@Suite("Block dequantization against gguf-py")
struct QuantBlocksTests {
    /// Every block type, as `generate_all_types.py` names its files.
    static let blockTypes: [DType] = DType.allCases.filter(\.isQuantized)

    /// Little-endian f32 words of `bytes`, as bit patterns.
    static func bits(_ bytes: [UInt8]) -> [UInt32] {
        stride(from: 0, to: bytes.count, by: 4).map { i in
            UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
        }
    }

    @Test("the fixtures cover every block type DType has")
    func coverage() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: fixture("quant/all_types"))
        let named = Set(files.filter { $0.hasSuffix(".bin") }.map { String($0.dropLast(4)) })
        #expect(named == Set(Self.blockTypes.map(\.shortName)))
        #expect(Self.blockTypes.count == 27)
    }

    @Test("every value's bits equal gguf-py's", arguments: blockTypes)
    func bitEqual(_ dtype: DType) throws {
        let blocks = try readBytes(fixture("quant/all_types/\(dtype.shortName).bin"))
        let want = Self.bits(try readBytes(fixture("quant/all_types/\(dtype.shortName).deq.f32")))
        #expect(blocks.count % dtype.blockBytes == 0, "block size of \(dtype) disagrees with ggml's")
        let got = QuantBlocks.dequantize(blocks, as: dtype).map(\.bitPattern)
        #expect(got.count == want.count)
        #expect(got.count == blocks.count / dtype.blockBytes * dtype.blockElements)
        let wrong = zip(got, want).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(wrong.isEmpty, "\(dtype): \(wrong.count) values differ, first at \(wrong.first.map { "\($0.offset): \(Float(bitPattern: $0.element.0)) vs \(Float(bitPattern: $0.element.1))" } ?? "")")
    }

    @Test("one flipped quant bit per block changes the decoded values (the fixtures are not degenerate)")
    func perturbationIsDetected() throws {
        for dtype in Self.blockTypes {
            var blocks = try readBytes(fixture("quant/all_types/\(dtype.shortName).bin"))
            let before = QuantBlocks.dequantize(blocks, as: dtype).map(\.bitPattern)
            for b in stride(from: 0, to: blocks.count, by: dtype.blockBytes) { blocks[b + dtype.blockBytes / 2] ^= 0x10 }
            let after = QuantBlocks.dequantize(blocks, as: dtype).map(\.bitPattern)
            #expect(zip(before, after).filter { $0 != $1 }.count >= 7, Comment(rawValue: "perturbed \(dtype)"))
        }
    }

    @Test("block sizes are ggml's type table (ggml-common.h static_asserts)")
    func sizes() {
        let table: [DType: (Int, Int)] = [
            .q8_1: (32, 36), .q2_K: (256, 84), .q3_K: (256, 110), .q5_K: (256, 176), .q8_K: (256, 292),
            .iq2_XXS: (256, 66), .iq2_XS: (256, 74), .iq2_S: (256, 82), .iq3_XXS: (256, 98), .iq3_S: (256, 110),
            .iq1_S: (256, 50), .iq1_M: (256, 56), .iq4_NL: (32, 18), .iq4_XS: (256, 136), .tq1_0: (256, 54),
            .tq2_0: (256, 66), .mxfp4: (32, 17), .nvfp4: (64, 36), .q1_0: (128, 18), .q2_0: (64, 18),
        ]
        for (dtype, (elements, bytes)) in table {
            #expect(dtype.blockElements == elements && dtype.blockBytes == bytes, "\(dtype)")
        }
        #expect(DType.unknown.byteCount(elements: 4) == nil)
        #expect(!DType.unknown.isQuantized)
    }
}
