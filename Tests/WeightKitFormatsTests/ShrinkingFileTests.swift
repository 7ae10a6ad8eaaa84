import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// A source file truncated on disk after it was opened (and mapped): converting it must fail
/// with a `truncated` FormatError naming the file and tensor, not die of SIGBUS on the lost pages.
@Suite("Files that shrink while mapped")
struct ShrinkingFileTests {
    /// Two f32 [256, 256] tensors (256 KiB each), written by Python's safetensors, then rewritten
    /// by our writer as `format` (the reader under test is then ours for that format).
    static func source(_ format: TensorFormat, in folder: TemporaryFolder) throws -> String {
        let original = folder.file("source.safetensors")
        _ = try python("""
            import sys, numpy as np
            from safetensors.numpy import save_file
            r = np.random.default_rng(1)
            save_file({"a": r.standard_normal((256, 256), np.float32), "b": r.standard_normal((256, 256), np.float32)}, sys.argv[1])
            """, [original])
        guard format != .safetensors else { return original }
        let source = try SafetensorsFile(path: original)
        let keep = format == .npy ? Array(source.tensors.prefix(1)) : source.tensors
        let path = folder.file("source." + format.rawValue)
        let payloads = try keep.map { try TensorPayload(source: source, input: $0) }
        _ = try FormatRegistry.write(payloads, metadata: Metadata(), to: path, format: format)
        return path
    }

    @Test("converting a source truncated after opening throws truncated, names file and tensor, writes nothing",
          arguments: [TensorFormat.safetensors, .gguf, .npy, .npz, .wkp])
    func convertAfterTruncation(format: TensorFormat) throws {
        let folder = TemporaryFolder()
        let path = try Self.source(format, in: folder)
        let source = try FormatRegistry.open(path: path)
        var info = stat()
        #expect(stat(path, &info) == 0)
        let before = Int(info.st_size)
        // Keep the headers and one page of data: the tensors' other pages are gone, and
        // touching them through the mapping would raise SIGBUS.
        let kept = 3 * 4096
        #expect(truncate(path, off_t(kept)) == 0)
        let output = folder.file("out.safetensors")
        let payloads = try source.tensors.map { try TensorPayload(source: source, input: $0) }
        let error = try #require(throws: FormatError.self) {
            try FormatRegistry.write(payloads, metadata: Metadata(), to: output, format: .safetensors)
        }
        #expect(error.kind == .truncated)
        #expect(error.path == path)
        #expect(error.tensorName == source.tensors.first?.name)
        #expect(error.byteOffset == kept)
        #expect(error.message.contains("\(before)") && error.message.contains("\(kept)"), "\(error.message)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test("a file that did not shrink converts as before")
    func unchangedFileConverts() throws {
        let folder = TemporaryFolder()
        let path = try Self.source(.safetensors, in: folder)
        let source = try FormatRegistry.open(path: path)
        let payloads = try source.tensors.map { try TensorPayload(source: source, input: $0) }
        let output = folder.file("out.gguf")
        _ = try FormatRegistry.write(payloads, metadata: Metadata(), to: output, format: .gguf)
        #expect(try GGUFFile(path: output).tensors.map(\.name) == ["a", "b"])
    }
}
