import Foundation
import Synchronization
import Testing
import WeightKit
import WeightKitTestSupport

/// `Converter.convert` and `Quantizer.quantize` called as a library: reports, warnings as
/// values, refused requests as `ConversionError`s. The written bytes are checked against the
/// reference tools in WeightKitCLITests (GGUFConvertTests, QuantizeCLITests), which run the
/// same calls through the binary.
@Suite("Conversion and quantization through the library")
struct ConverterTests {
    static let tiny = fixture("gguf/tiny_llama.gguf")

    /// The last path component of each file.
    static func names(_ files: [String]) -> Set<String> {
        Set(files.map { String($0.split(separator: "/").last ?? "") })
    }

    @Test("GGUF → Hugging Face folder: the report lists weights and side files, no warnings, and the folder loads")
    func ggufToFolder() throws {
        let folder = TemporaryFolder()
        let out = folder.file("hf") + "/"
        let report = try Converter.convert(input: Self.tiny, output: out)
        #expect(report.inputFormat == .gguf && report.outputFormat == .huggingFace)
        #expect(report.tensorCount == 21)
        #expect(report.warnings.isEmpty)
        #expect(report.bytesWritten > 0 && report.seconds >= 0)
        #expect(Self.names(report.files) == [
            "model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
        ])
        let model = try ModelLoader.load(path: out)
        #expect(model.graph.config.layers == 2 && model.graph.config.vocabSize == 32)
        #expect(model.tokenizer != nil)
    }

    @Test("folder → GGUF records llama.cpp's file type of the cast; a cast is recorded as config.json's torch_dtype")
    func fileTypeAndTorchDType() throws {
        let folder = TemporaryFolder()
        let hf = folder.file("hf") + "/"
        _ = try Converter.convert(input: Self.tiny, output: hf)
        let half = try Converter.convert(input: hf, output: folder.file("half.gguf"), options: ConversionOptions(dtype: .float16))
        #expect(half.outputFormat == .gguf && half.tensorCount == 21)
        #expect(try GGUFFile(path: folder.file("half.gguf")).metadata["general.file_type"] == .uint(1))
        let copy = folder.file("bf16") + "/"
        let report = try Converter.convert(input: hf, output: copy, options: ConversionOptions(dtype: .bfloat16))
        #expect(Self.names(report.files).contains("config.json"))
        #expect(try HuggingFaceFolder(path: copy).config?["torch_dtype"] == "bfloat16")
    }

    @Test("warnings are values: unmapped GGUF names, an unknown architecture, dropped metadata")
    func warnings() throws {
        let folder = TemporaryFolder()
        // all_types.gguf says llama, but its tensors (t.f32, t.q8_0, …) have no llama role.
        let unmapped = try Converter.convert(input: fixture("gguf/all_types.gguf"), output: folder.file("all") + "/")
        #expect(unmapped.warnings.map(\.kind) == [.unmappedTensors])
        #expect(unmapped.warnings.first?.names.count == 11)
        #expect(unmapped.warnings.first?.message.hasPrefix("kept GGUF names for t.f32, ") == true)

        let mamba = folder.file("mamba.gguf")
        _ = try python("""
            import sys, numpy as np, gguf
            w = gguf.GGUFWriter(sys.argv[1], "mamba")
            w.add_tensor("x.weight", np.ones((2, 32), dtype=np.float32))
            w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
            """, [mamba])
        let unknown = try Converter.convert(input: mamba, output: folder.file("mamba") + "/")
        #expect(unknown.warnings == [ConversionWarning(
            .unknownArchitecture, "architecture mamba has no Hugging Face mapping; tensor names kept, no config.json")])
        #expect(Self.names(unknown.files) == ["model.safetensors"])

        // safetensors metadata ({"format": "pt"}) has no place in .npz.
        let dropped = try Converter.convert(input: fixture("tiny-llama/model.safetensors"), output: folder.file("t.npz"))
        #expect(dropped.warnings.map(\.kind) == [.metadataDropped] && dropped.warnings[0].names == ["format"])
    }

    @Test("refused requests are ConversionErrors, raised before anything is written")
    func refused() throws {
        let folder = TemporaryFolder()
        let input = fixture("tiny-llama/model.safetensors")
        let existing = folder.file("out.safetensors")
        try writeBytes(Array("precious".utf8), to: existing)
        func kind(_ output: String, _ options: ConversionOptions = ConversionOptions()) -> ConversionError.Kind? {
            do {
                _ = try Converter.convert(input: input, output: output, options: options)
                return nil
            } catch let error as ConversionError {
                return error.kind
            } catch {
                return nil
            }
        }
        #expect(kind(existing) == .outputExists)
        #expect(try readBytes(existing) == Array("precious".utf8))
        #expect(kind(input, ConversionOptions(overwrite: true)) == .outputIsInput)
        #expect(kind(folder.file("many.npy")) == .invalidRequest)
        #expect(kind(folder.file("no-extension")) == .invalidRequest)
        #expect(kind(folder.file("int.safetensors"), ConversionOptions(dtype: .int8)) == .invalidRequest)
        #expect(!FileManager.default.fileExists(atPath: folder.file("many.npy")))
        let forced = try Converter.convert(input: input, output: existing, options: ConversionOptions(dtype: .float16, overwrite: true))
        #expect(forced.tensorCount == (try FormatRegistry.open(path: input).tensors.count))
        let quantized = folder.file("q.gguf")
        try writeBytes(Array("precious".utf8), to: quantized)
        let refusedQuantize = #expect(throws: ConversionError.self) {
            try Quantizer.quantize(input: input, output: quantized, options: QuantizationOptions(policy: QuantPolicy(scheme: .q8_0)))
        }
        #expect(refusedQuantize?.kind == .outputExists)
        #expect(try readBytes(quantized) == Array("precious".utf8))
    }

    @Test("quantize a folder to Q8_0 GGUF: every 2-D weight quantized with its error, norms kept, file type 7")
    func quantizeFolder() throws {
        let folder = TemporaryFolder()
        let out = folder.file("q8.gguf")
        let progress = Counter()
        let options = QuantizationOptions(policy: QuantPolicy(scheme: .q8_0), threads: 2, progress: { done, _ in progress.set(done) })
        let report = try Quantizer.quantize(input: fixture("tiny-llama"), output: out, options: options)
        #expect(report.output == out && report.warnings.isEmpty)
        let quantized = report.rows.filter { $0.stats != nil }
        #expect(quantized.count == report.quantizedCount && report.quantizedCount > 0)
        for row in report.rows {
            if row.stats == nil {
                #expect(row.to == row.from, "\(row.name) kept")
            } else {
                #expect(row.to == .q8_0 && row.bytesAfter < row.bytesBefore, "\(row.name)")
                #expect((row.stats?.cosine ?? 0) > 0.999, "\(row.name)")
            }
        }
        #expect(report.bitsPerWeight > 8 && report.bitsPerWeight < 32)
        #expect(progress.value == report.rows.count)
        let file = try GGUFFile(path: out)
        #expect(file.value("general.file_type") == .uint32(7))
        #expect(file.tensors.count == report.rows.count)
    }

    @Test("quantize a GGUF to Q4_0: block inputs decoded first, file type 2 as a u32")
    func quantizeGGUF() throws {
        let folder = TemporaryFolder()
        let out = folder.file("q4.gguf")
        let report = try Quantizer.quantize(
            input: Self.tiny, output: out, options: QuantizationOptions(policy: QuantPolicy(scheme: .q4_0, embeddings: .keep)))
        #expect(report.rows.contains { $0.from == .float32 && $0.to == .q4_0 })
        #expect(try GGUFFile(path: out).value("general.file_type") == .uint32(2))
    }

    @Test("one home for the tables: torch_dtype names on DType, general.file_type codes on GGMLType")
    func tables() {
        #expect([DType.float32, .float16, .bfloat16, .int8].map(\.torchName) == ["float32", "float16", "bfloat16", nil])
        let codes = [DType.float32, .float16, .q4_0, .q4_1, .q8_0, .iq4_NL, .iq4_XS, .bfloat16, .q6_K].map(GGMLType.fileType(of:))
        #expect(codes == [0, 1, 2, 3, 7, 25, 30, 32, nil])  // llama.h's LLAMA_FTYPE_ALL_F32 … MOSTLY_BF16
    }
}

/// A value set from `@Sendable` callbacks.
final class Counter: Sendable {
    private let storage = Mutex(0)
    /// The last value set.
    var value: Int { storage.withLock { $0 } }
    /// Sets the value.
    func set(_ v: Int) { storage.withLock { $0 = v } }
}
