import WeightKitCore
import WeightKitFormats
import WeightKitQuantize

extension QuantizationPlan {
    /// Plans quantizing `input` into `target` under `policy` with llama-imatrix's `importance`
    /// (read from `importancePath`): what `llama-quantize --pure --imatrix F` does for the
    /// policy's scheme. Each quantized tensor gets its GGUF tensor's entry (a Hugging Face
    /// folder's names are mapped as for a mix); Q8_0 is encoded without it, as ggml's
    /// `quantize_q8_0` ignores it, but every entry's size is still checked, as llama-quantize
    /// checks it for every tensor it quantizes.
    ///
    /// - Throws: `make(input:format:target:policy:)`'s errors, `FormatError` `.unsupported` for
    ///   an input without GGUF names or a model folder (nothing to look the entries up by),
    ///   `.sizeMismatch` for an entry whose size is not the tensor's columns × experts.
    static func make(
        input: String, format: TensorFormat?, target: TensorFormat, policy: QuantPolicy, importance: ImportanceMatrix,
        importancePath: String?
    ) throws -> QuantizationPlan {
        var plan = try make(input: input, format: format, target: target, policy: policy)
        let view = try MixView.make(plan: plan, input: input, format: format, purpose: "an importance matrix")
        var missing: [String] = []
        for t in plan.source.tensors {
            guard let dtype = plan.targets[t.name]?.dtype else { continue }
            guard let slot = view.slot(of: t.name),
                  let weights = try view.importance(importance, slot: slot, tensor: t)
            else {
                if QuantScheme(dtype: dtype)?.usesImportance == true { missing.append(t.name) }
                continue
            }
            plan.targets[t.name] = QuantTarget(dtype: dtype, importance: weights)
        }
        if !missing.isEmpty {
            plan.warnings.append(ConversionWarning(
                .importanceMissing,
                "the importance matrix has no entry for \(missing.count) quantized tensors; they are quantized without one (as llama-quantize does)",
                names: missing))
        }
        if policy.scheme == .q8_0 {
            plan.warnings.append(ConversionWarning(
                .importanceIgnored, "Q8_0 does not use an importance matrix (ggml's quantize_q8_0 ignores it): the bytes are those without --imatrix"))
        }
        let unused = importance.unused(by: view.ggufTensors.map(\.name))
        if !unused.isEmpty {
            plan.warnings.append(ConversionWarning(
                .importanceUnused, "the importance matrix has \(unused.count) entries for tensors not in the model (llama-quantize ignores them too)",
                names: unused))
        }
        if target == .gguf { plan.setImportanceMetadata(importance, path: importancePath) }
        return plan
    }
}
