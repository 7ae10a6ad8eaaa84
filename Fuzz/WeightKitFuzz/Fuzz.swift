// libFuzzer entry point for every WeightKit reader. Built only by scripts/fuzz.sh
// (WEIGHTKIT_FUZZ=1 adds this target to Package.swift; main.swift hands control to libFuzzer).
// The reader under test comes from WEIGHTKIT_FUZZ_TARGET: safetensors, npy, npz, gguf, pack,
// tokenizer, config. Any thrown error is a pass; a crash, an ASan report, a timeout or an
// out-of-memory is a finding.
#if canImport(Glibc)
import Glibc
#endif
import WeightKitCore
import WeightKitFormats
import WeightKitGraph
import WeightKitTokenizer

/// The reader chosen for this process.
nonisolated(unsafe) let fuzzTarget: String = {
    guard let raw = getenv("WEIGHTKIT_FUZZ_TARGET") else { return "safetensors" }
    return String(cString: raw)
}()

/// A per-process scratch file: the file readers take paths and map them.
nonisolated(unsafe) let scratchPath: String = "/tmp/weightkit-fuzz-\(getpid())." + fuzzTarget

/// Writes `bytes` to the scratch file.
func writeScratch(_ bytes: UnsafeRawBufferPointer) {
    guard let handle = fopen(scratchPath, "wb") else { return }
    if bytes.count > 0 { _ = fwrite(bytes.baseAddress, 1, bytes.count, handle) }
    fclose(handle)
}

/// Touches every tensor's bytes the way `validate` does, so bad offsets surface.
func touchTensors(_ source: any TensorSource) {
    for tensor in source.tensors.prefix(64) {
        guard let storage = try? source.storage(named: tensor.name) else { continue }
        storage.withUnsafeBytes { raw in
            var sum: UInt8 = 0
            for byte in raw { sum &+= byte }
            _ = sum
            if tensor.dtype.isFloatingPoint, raw.count == tensor.byteCount {
                _ = TensorStats.compute(raw, dtype: tensor.dtype, count: tensor.elementCount)
            }
        }
    }
}

/// Runs one input through the chosen reader.
func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    switch fuzzTarget {
    case "npy-header":
        _ = try? NPYHeader(parsing: bytes, path: "fuzz.npy")
    case "tokenizer":
        let text = String(decoding: bytes, as: UTF8.self)
        if let tokenizer = try? TokenizerJSON.parse(text) {
            let ids = tokenizer.encode("Hello wörld 123 <s> 日本 🙂", addSpecialTokens: true)
            _ = tokenizer.decode(ids, skipSpecialTokens: false)
        }
    case "config":
        if case .object(let object)? = try? JSON.parse(bytes) {
            _ = try? ArchitectureConfig(huggingFace: object, path: "config.json")
        }
    default:
        writeScratch(bytes)
        let format: TensorFormat
        switch fuzzTarget {
        case "npy": format = .npy
        case "npz": format = .npz
        case "gguf": format = .gguf
        case "pack": format = .wkp
        default: format = .safetensors
        }
        guard let source = try? FormatRegistry.open(path: scratchPath, format: format) else { return }
        touchTensors(source)
        if let pack = source as? PackReader {
            _ = pack.verify()
            _ = try? pack.tokenizerJSON()
        }
    }
}

/// libFuzzer's callback.
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzOne(UnsafeRawBufferPointer(start: data, count: count))
    return 0
}

/// libFuzzer's documented entry for programs that own `main` (SwiftPM renames an executable's
/// main, so the harness calls the driver instead of relying on libFuzzer's own main).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// The symbol libFuzzer's own main looks for (linked in from its archive alongside ours).
@_cdecl("LLVMFuzzerTestOneInput")
public func llvmFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    fuzzerTestOneInput(data, count)
}
