import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// WeightKit's block encoders against llama-quantize itself: SmolLM2-135M's f32 GGUF quantized by
/// `llama-quantize --pure IN OUT TYPE` (and with `--imatrix` from llama-imatrix), the tensors of
/// the output (`sampledRows`) re-encoded by `QuantScheme` from the f32 tensor and compared byte for byte.
/// scripts/test.sh makes the files (`make_kquant_pure_models`) when Benchmarks/llama-cpp/build.sh
/// has built llama.cpp and sets WEIGHTKIT_KQUANT_PURE; without it the suite is skipped and
/// test.sh says so.
@Suite("Block encoders against llama-quantize on SmolLM2",
       .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_PURE"] != nil))
struct KQuantEncoderFileTests {
    static let folder = ProcessInfo.processInfo.environment["WEIGHTKIT_KQUANT_PURE"] ?? ""
    static let types = ["q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "iq4_nl"]

    /// llama-quantize's importance vectors from llama-imatrix's GGUF: `in_sum2 / counts` per
    /// expert (1 where a count is 0), keyed by weight name.
    static func importance() throws -> [String: [Float]] {
        let file = try FormatRegistry.open(path: "\(folder)/smollm2.imatrix.gguf")
        var out: [String: [Float]] = [:]
        for t in file.tensors where t.name.hasSuffix(".in_sum2") {
            let name = String(t.name.dropLast(".in_sum2".count))
            let counts = try #require(file.tensor(named: name + ".counts"), "\(name).counts")
            let sums = try file.storage(of: t).floats(), n = try file.storage(of: counts).floats()
            let perExpert = sums.count / n.count
            out[name] = sums.indices.map { i in n[i / perExpert] > 0 ? sums[i] / n[i / perExpert] : 1 }
        }
        return out
    }

    /// How many rows of tensor `name` a case compares (nil: none), so that each kind of matrix is
    /// compared at a quarter of the depths in about a tenth of the time (comparing all 211 tensors
    /// of each case took 247 s of the test run's CPU; every one of them matched when that was run):
    /// every tensor of layers 0, 8, 16, 24 without an importance matrix and 4, 12, 20, 28 with one; the
    /// embedding's first 8192 of 49152 rows without one (llama-imatrix collects nothing for it,
    /// so with one it is quantized the same way). Encoders work row by row, so a row prefix
    /// encodes to a prefix of llama-quantize's bytes.
    static func sampledRows(_ name: String, weighted: Bool) -> Int? {
        let parts = name.split(separator: ".")
        guard parts.count > 2, parts[0] == "blk", let layer = Int(parts[1]) else { return weighted ? nil : 8192 }
        return layer % 8 == (weighted ? 4 : 0) ? Int.max : nil
    }

    @Test("every quantized tensor of every eighth layer: bytes equal llama-quantize --pure's", arguments: types, [false, true])
    func pure(type: String, weighted: Bool) throws {
        let path = "\(Self.folder)/smollm2-pure-\(weighted ? "imatrix-" : "")\(type).gguf"
        try #require(FileManager.default.fileExists(atPath: path), "\(path) is missing: scripts/test.sh makes it with llama-quantize")
        let reference = try FormatRegistry.open(path: path)
        let f32 = try FormatRegistry.open(path: "\(Self.folder)/smollm2-f32.gguf")
        let weights = weighted ? try Self.importance() : [:]
        var compared = 0, blocks = 0, kept = 0, withImportance = 0, differing: [String] = []
        for t in reference.tensors {
            guard t.dtype.isQuantized else { kept += 1; continue }
            guard let rows = Self.sampledRows(t.name, weighted: weighted) else { continue }
            let scheme = try #require(QuantScheme(dtype: t.dtype), "\(t.name): llama-quantize wrote \(t.dtype), which we do not encode")
            let input = try #require(f32.tensor(named: t.name))
            let cols = try #require(input.shape.dims.last)
            let importance = weighted ? weights[t.name] : nil
            if importance != nil { withImportance += 1 }
            // Only the compared rows are read, from either file.
            let taken = min(rows, input.elementCount / cols)
            let ours = try scheme.encode(try f32.storage(of: input).slice(0..<taken * cols * 4).floats(), columns: cols, importance: importance)
            let theirs = try reference.storage(of: t).slice(0..<taken * cols / scheme.dtype.blockElements * scheme.dtype.blockBytes).bytes
            let step = scheme.dtype.blockBytes
            if ours != theirs {
                let bad = ours.count != theirs.count ? -1
                    : stride(from: 0, to: theirs.count, by: step).filter { ours[$0..<$0 + step] != theirs[$0..<$0 + step] }.count
                differing.append("\(t.name) (\(scheme.rawValue)): \(bad) blocks")
            }
            compared += 1
            blocks += theirs.count / step
        }
        print("\(type)\(weighted ? " imatrix" : ""): \(compared) tensors (\(blocks) blocks, \(withImportance) with importance) compared, \(differing.count) differ; \(kept) kept in float")
        #expect(compared > 0 && (weighted == (withImportance > 0)))
        #expect(differing.isEmpty, "\(type)\(weighted ? " with imatrix" : ""): \(differing.prefix(6))")
    }
}

extension TensorStorage {
    /// The storage as f32 values (little-endian host), copied in one go: debug builds are slow
    /// at element-wise loops over 135 M values.
    fileprivate func floats() throws -> [Float] {
        withUnsafeBytes { raw in
            [Float](unsafeUninitializedCapacity: raw.count / 4) { out, n in
                out.withMemoryRebound(to: UInt8.self) { _ = raw.prefix(out.count * 4).copyBytes(to: $0) }
                n = raw.count / 4
            }
        }
    }
}
