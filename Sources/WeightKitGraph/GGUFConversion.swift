import WeightKitCore

/// Plans a GGUF ↔ Hugging Face conversion tensor by tensor: the new name, and the steps
/// (RoPE row permutation, transposition, dequantization) that turn stored bytes into the other
/// world's layout. Execution is Core's `TransformedTensorSource`; writing is the formats'.
public enum GGUFConversion {
    /// A planned conversion: one entry per output tensor.
    public struct Plan: Sendable {
        /// The family the names and layouts follow (nil: unknown architecture, names kept).
        public var family: ModelFamily?
        /// Output tensors and how to make them.
        public var entries: [TransformedTensorSource.Entry]
        /// Input names with no mapping, written under their own name.
        public var unmapped: [String]
        /// Input names dropped on purpose (`rotary_emb.inv_freq`, GPT-2's attention masks).
        public var dropped: [String]
    }

    /// Head counts from GGUF metadata: (heads, kvHeads).
    static func heads(ggufMetadata metadata: Metadata, arch: String) -> (Int, Int)? {
        func int(_ key: String) -> Int? {
            switch metadata["\(arch).\(key)"] {
            case .uint(let u)?: return Int(exactly: u)
            case .int(let i)?: return Int(exactly: i)
            default: return nil
            }
        }
        guard let heads = int("attention.head_count") else { return nil }
        return (heads, int("attention.head_count_kv") ?? heads)
    }

    /// The row order for a permuted layout, or an error naming the tensor.
    static func rowOrder(_ layout: WeightLayout, info: TensorInfo, heads: (Int, Int)?, toGGUF: Bool) throws -> TensorTransform? {
        guard layout == .ropeQ || layout == .ropeK else { return nil }
        guard let heads else {
            throw FormatError(.invalidHeader, "attention head count missing: cannot undo the RoPE permutation", tensorName: info.name)
        }
        let n = layout == .ropeQ ? heads.0 : heads.1
        let rows = info.shape.dims.first ?? 0
        let order = toGGUF ? RoPEPermutation.ggufRowOrder(rows: rows, heads: n) : RoPEPermutation.hfRowOrder(rows: rows, heads: n)
        guard let order else {
            throw FormatError(.shapeMismatch, "\(rows) rows are not \(n) heads of even size", tensorName: info.name)
        }
        return .permuteRows(order)
    }

    /// GGUF tensors → HF names and layouts; block types dequantized to f32 (`dequantize`).
    public static func toHuggingFace(tensors: [TensorInfo], ggufMetadata metadata: Metadata, dequantize: Bool = true) throws -> Plan {
        let family = GGUFConfig.family(ggufMetadata: metadata)
        let arch = metadata["general.architecture"]?.stringValue ?? ""
        let heads = Self.heads(ggufMetadata: metadata, arch: arch)
        var plan = Plan(family: family, entries: [], unmapped: [], dropped: [])
        for t in tensors {
            var name = t.name, layout = WeightLayout.same
            if let family, let mapped = WeightNames.hfName(forGGUF: t.name, family: family) {
                (name, layout) = mapped
            } else {
                plan.unmapped.append(t.name)
            }
            var steps: [TensorTransform] = []
            if let permute = try rowOrder(layout, info: t, heads: heads, toGGUF: false) { steps.append(permute) }
            if dequantize || layout == .transposed { steps.append(.dequantize) }
            if layout == .transposed { steps.append(.transpose) }
            plan.entries.append(try TransformedTensorSource.entry(input: t, name: name, steps: steps))
        }
        return plan
    }

    /// HF tensors → GGUF names and layouts for the family in `config` (`model_type`).
    ///
    /// - Throws: `.unsupported` when the family has no GGUF mapping.
    public static func toGGUF(tensors: [TensorInfo], hfConfig config: JSONObject) throws -> Plan {
        guard let family = GGUFConfig.family(hfConfig: config) else {
            let type = config["model_type"]?.string ?? "(none)"
            throw FormatError(
                .unsupported, "model_type \(type) has no GGUF mapping; supported: \(ModelFamily.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var heads: (Int, Int)?
        if let h = config["num_attention_heads"]?.int { heads = (h, config["num_key_value_heads"]?.int ?? h) }
        var plan = Plan(family: family, entries: [], unmapped: [], dropped: [])
        for t in tensors {
            if WeightNames.isDropped(hfName: t.name) {
                plan.dropped.append(t.name)
                continue
            }
            var name = t.name, layout = WeightLayout.same
            if let mapped = WeightNames.ggufName(forHF: t.name, family: family) {
                (name, layout) = mapped
            } else {
                plan.unmapped.append(t.name)
            }
            var steps: [TensorTransform] = []
            if let permute = try rowOrder(layout, info: t, heads: heads, toGGUF: true) { steps.append(permute) }
            if layout == .transposed { steps += [.dequantize, .transpose] }
            plan.entries.append(try TransformedTensorSource.entry(input: t, name: name, steps: steps))
        }
        return plan
    }
}
