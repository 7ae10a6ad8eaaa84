import WeightKitCore

/// Plans a GGUF ↔ Hugging Face conversion tensor by tensor: the new name, and the steps
/// (RoPE row permutation, transposition, dequantization, Gemma's + 1, expert stacking and
/// splitting) that turn stored bytes into the other world's layout. Execution is
/// `GGUFTensorSource`; writing is the formats'.
public enum GGUFConversion {
    /// A planned conversion: one entry per output tensor.
    public struct Plan: Sendable {
        /// The family the names and layouts follow (nil: unknown architecture, names kept).
        public var family: ModelFamily?
        /// Each input tensor under its own name after its steps (permute, dequantize, transpose).
        public var inputs: [TransformedTensorSource.Entry]
        /// Output tensors and how to make them.
        public var entries: [GGUFTensorSource.Entry]
        /// Input names with no mapping, written under their own name.
        public var unmapped: [String]
        /// Input names dropped on purpose (`rotary_emb.inv_freq`, GPT-2's attention masks; GGUF's
        /// `rope_freqs`/`rope_factors_*`, which the config carries instead).
        public var dropped: [String]

        /// The output tensors read from `base` (the source the plan's input tensors came from).
        public func source(base: any TensorSource) -> GGUFTensorSource {
            GGUFTensorSource(inner: TransformedTensorSource(base: base, entries: inputs), entries: entries)
        }
    }

    /// GGUF tensors holding RoPE data that the Hugging Face side keeps in config.json.
    public static let ropeTensors: Set<String> = ["rope_freqs.weight", "rope_factors_long.weight", "rope_factors_short.weight"]

    /// Head counts from GGUF metadata: (heads, kvHeads).
    static func heads(ggufMetadata metadata: Metadata, arch: String) -> (Int, Int)? {
        guard let heads = GGUFConfig.int(metadata["\(arch).attention.head_count"]) else { return nil }
        return (heads, GGUFConfig.int(metadata["\(arch).attention.head_count_kv"]) ?? heads)
    }

    /// GPT-NeoX's fused QKV rows: output row i of the GGUF order ([q; k; v], each all heads) is
    /// HF row `order[i]` ([heads, 3, headDim]); `toGGUF` false gives the inverse.
    static func neoxOrder(rows: Int, heads: Int, toGGUF: Bool) -> [Int]? {
        guard heads > 0, rows % (3 * heads) == 0 else { return nil }
        let d = rows / (3 * heads)
        let gguf = (0..<rows).map { i -> Int in
            let part = i / (heads * d), head = (i % (heads * d)) / d, k = i % d
            return head * 3 * d + part * d + k
        }
        guard !toGGUF else { return gguf }
        var hf = [Int](repeating: 0, count: rows)
        for (i, from) in gguf.enumerated() { hf[from] = i }
        return hf
    }

    /// The row order for a permuted layout, or an error naming the tensor.
    static func rowOrder(_ layout: WeightLayout, info: TensorInfo, heads: (Int, Int)?, toGGUF: Bool) throws -> TensorTransform? {
        if layout == .neoxQKV {
            let rows = info.shape.dims.first ?? 0
            guard let heads, let order = neoxOrder(rows: rows, heads: heads.0, toGGUF: toGGUF) else {
                throw FormatError(.shapeMismatch, "\(rows) rows are not 3 × \(heads?.0 ?? 0) heads", tensorName: info.name)
            }
            return .permuteRows(order)
        }
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

    static func whole(_ input: TransformedTensorSource.Entry, name: String, addend: Float = 0) -> GGUFTensorSource.Entry {
        var output = input.output
        output.name = name
        if addend != 0, output.dtype != .float32 {
            output = TensorInfo(name: name, dtype: .float32, shape: output.shape, byteCount: (output.shape.elementCount ?? 0) * 4)
        }
        return GGUFTensorSource.Entry(output: output, parts: [.input(input.output.name, rows: nil)], addend: addend)
    }

    /// GGUF tensors → HF names and layouts.
    ///
    /// - Parameters:
    ///   - running: true for the runtime's view: Q/K stay permuted (RoPE runs interleaved) and
    ///     norms stay as stored (the config's norm offset is 0); false for an HF folder.
    ///   - keepBlocks: block types left quantized; every other block type is dequantized to f32.
    public static func toHuggingFace(
        tensors: [TensorInfo], ggufMetadata metadata: Metadata, running: Bool = false, keepBlocks: Set<DType> = []
    ) throws -> Plan {
        let family = GGUFConfig.family(ggufMetadata: metadata)
        let arch = metadata["general.architecture"]?.stringValue ?? ""
        let heads = Self.heads(ggufMetadata: metadata, arch: arch)
        var plan = Plan(family: family, inputs: [], entries: [], unmapped: [], dropped: [])
        for t in tensors {
            if family != nil, ropeTensors.contains(t.name) {
                plan.dropped.append(t.name)
                continue
            }
            var name = t.name, layout = WeightLayout.same
            if let family, let mapped = WeightNames.hfName(forGGUF: t.name, family: family) {
                (name, layout) = mapped
            } else {
                plan.unmapped.append(t.name)
            }
            var steps: [TensorTransform] = []
            // Q/K stay permuted for running (RoPE runs interleaved); NeoX's QKV always goes back to HF's order.
            if !running || layout == .neoxQKV, let permute = try rowOrder(layout, info: t, heads: heads, toGGUF: false) { steps.append(permute) }
            let addend: Float = layout == .plusOne && !running ? -1 : 0
            let blocksStay = keepBlocks.contains(t.dtype) && t.shape.rank >= 2 && layout != .transposed && addend == 0
            if t.dtype.isQuantized && !blocksStay { steps.append(.dequantize) }
            if layout == .transposed { steps.append(.transpose) }
            let input = try TransformedTensorSource.entry(input: t, name: t.name, steps: steps)
            plan.inputs.append(input)
            if layout == .stackedExperts {
                let dims = input.output.shape.dims
                guard dims.count == 3 else {
                    throw FormatError(.shapeMismatch, "stacked experts must be 3-D [experts, rows, columns], found \(input.output.shape)", tensorName: t.name)
                }
                let rowBytes = input.output.byteCount / max(1, dims[0] * dims[1])
                for x in 0..<dims[0] {
                    let info = TensorInfo(
                        name: WeightNames.expertName(name, expert: x), dtype: input.output.dtype, shape: Shape([dims[1], dims[2]]),
                        byteCount: rowBytes * dims[1])
                    plan.entries.append(GGUFTensorSource.Entry(output: info, parts: [.input(t.name, rows: x * dims[1]..<(x + 1) * dims[1])], addend: 0))
                }
                continue
            }
            plan.entries.append(whole(input, name: name, addend: addend))
        }
        return plan
    }

    /// HF tensors → GGUF names and layouts for the family in `config` (`model_type`), with the
    /// tensors llama.cpp's converter adds (`extra`: name and f32 values, e.g. `rope_freqs.weight`).
    ///
    /// - Throws: `.unsupported` when the family has no GGUF mapping; `.shapeMismatch` when a
    ///   layer's experts are missing or differ in shape.
    public static func toGGUF(tensors: [TensorInfo], hfConfig config: JSONObject, extra: [(String, [Float])] = []) throws -> Plan {
        let config = MultimodalLayout.languageModelConfig(config)
        let multimodal = MultimodalLayout.detect(tensors.lazy.map(\.name))
        guard let family = GGUFConfig.family(hfConfig: config) else {
            let type = config["model_type"]?.string ?? "(none)"
            throw FormatError(
                .unsupported, "model_type \(type) has no GGUF mapping; supported: \(ModelFamily.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var heads: (Int, Int)?
        if let h = config["num_attention_heads"]?.int { heads = (h, config["num_key_value_heads"]?.int ?? h) }
        var plan = Plan(family: family, inputs: [], entries: [], unmapped: [], dropped: [])
        // Stacked GGUF name → (expert, input) pairs, and where its entry goes in the output order.
        var stacks: [String: [(Int, TransformedTensorSource.Entry)]] = [:]
        var stackOrder: [String] = []
        for t in tensors {
            // A multimodal checkpoint's image side goes to llama.cpp's separate mmproj file, not here.
            guard let hfName = MultimodalLayout.textName(t.name, in: multimodal), !WeightNames.isDropped(hfName: hfName) else {
                plan.dropped.append(t.name)
                continue
            }
            var name = hfName, layout = WeightLayout.same, expert: Int?
            if let slot = WeightNames.ggufSlot(forHF: hfName, family: family) {
                (name, layout, expert) = slot
            } else {
                plan.unmapped.append(t.name)
            }
            var steps: [TensorTransform] = []
            if let permute = try rowOrder(layout, info: t, heads: heads, toGGUF: true) { steps.append(permute) }
            if layout == .transposed || layout == .plusOne { steps.append(.dequantize) }
            if layout == .transposed { steps.append(.transpose) }
            let input = try TransformedTensorSource.entry(input: t, name: t.name, steps: steps)
            plan.inputs.append(input)
            if layout == .stackedExperts, let expert {
                if stacks[name] == nil { stackOrder.append(name) }
                stacks[name, default: []].append((expert, input))
                continue
            }
            plan.entries.append(whole(input, name: name, addend: layout == .plusOne ? 1 : 0))
        }
        for name in stackOrder {
            let experts = stacks[name]!.sorted { $0.0 < $1.0 }
            let first = experts[0].1.output
            guard experts.map(\.0) == Array(0..<experts.count), experts.allSatisfy({ $0.1.output.shape == first.shape && $0.1.output.dtype == first.dtype }) else {
                throw FormatError(
                    .shapeMismatch, "experts \(experts.map(\.0)) of \(name) are not 0 ..< \(experts.count) with one shape and type",
                    tensorName: name)
            }
            let info = TensorInfo(
                name: name, dtype: first.dtype, shape: Shape([experts.count] + first.shape.dims), byteCount: first.byteCount * experts.count)
            plan.entries.append(GGUFTensorSource.Entry(output: info, parts: experts.map { .input($0.1.output.name, rows: nil) }, addend: 0))
        }
        for (name, values) in extra {
            let info = TensorInfo(name: name, dtype: .float32, shape: Shape([values.count]), byteCount: values.count * 4)
            plan.entries.append(GGUFTensorSource.Entry(output: info, parts: [.values(values)], addend: 0))
        }
        return plan
    }
}
