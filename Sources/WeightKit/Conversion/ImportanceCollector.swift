import WeightKitCore
import WeightKitGraph
import WeightKitRuntime

/// Accumulates, for each weight llama-imatrix collects, Σ x[j]² over the rows of every input it
/// multiplies and the number of rows (`IMatrixCollector::collect_imatrix`): for `GGML_OP_MUL_MAT`
/// one sum per column and one count; for the stacked experts of `GGML_OP_MUL_MAT_ID` one row of
/// sums and one count per expert, each expert seeing the tokens routed to it. A
/// `MatMulObserver` on the Transformer running the text. Weights are keyed by the runtime's name
/// (one expert's matrix at a time) and stored under their GGUF name; a product whose sums turn
/// non-finite is remembered (`problem`) for the caller to stop on, as llama-imatrix stops.
final class ImportanceCollector: MatMulObserver {
    /// One runtime weight and where its sums go.
    struct Target {
        /// The runtime weight's name.
        var runtime: String
        /// The GGUF tensor's name.
        var gguf: String
        /// Input columns.
        var columns: Int
        /// The expert this weight is in a stacked GGUF tensor of `matrices` experts, or nil.
        var expert: Int? = nil
        /// Matrices (experts) of the GGUF tensor.
        var matrices: Int = 1
    }

    /// Runtime weight name → (slot in `names`/`sums`, expert index or 0).
    let slots: [String: (slot: Int, expert: Int)]
    /// GGUF name of each slot.
    let names: [String]
    /// Whether a slot is stacked experts (collected for every product, as `mul_mat_id` is).
    let routed: [Bool]
    /// Σ x² per input column of each slot, matrix by matrix: [slots][matrices × columns].
    var sums: [[Float]]
    /// Rows summed per slot and matrix: [slots][matrices].
    var counts: [[Int]]
    /// The first weight whose sums became non-finite, and the column.
    var problem: (name: String, column: Int)?
    /// Whether dense products are collected: false for the positions llama-imatrix runs in a
    /// ubatch of fewer than 16 rows, where it skips `mul_mat` but still collects `mul_mat_id`.
    var collectsDense = true

    /// Collects the weights `map` names, each with `columns` inputs.
    init(map: [Target]) {
        var slots: [String: (slot: Int, expert: Int)] = [:], index: [String: Int] = [:]
        var names: [String] = [], routed: [Bool] = [], sums: [[Float]] = [], counts: [[Int]] = []
        for m in map {
            let slot = index[m.gguf] ?? names.count
            if slot == names.count {
                index[m.gguf] = slot
                names.append(m.gguf)
                routed.append(m.expert != nil)
                sums.append([Float](repeating: 0, count: m.columns * m.matrices))
                counts.append([Int](repeating: 0, count: m.matrices))
            }
            slots[m.runtime] = (slot, m.expert ?? 0)
        }
        self.slots = slots
        self.names = names
        self.routed = routed
        self.sums = sums
        self.counts = counts
    }

    func multiplying(_ weights: [Weight], input: UnsafeBufferPointer<Float>, rows: Int) {
        var seen: [String] = []
        for w in weights {
            guard let (slot, expert) = slots[w.info.name], !seen.contains(w.info.name) else { continue }
            seen.append(w.info.name)
            guard collectsDense || routed[slot] else { continue }
            let columns = w.columns, base = expert * columns
            precondition(input.count == rows * columns && sums[slot].count >= base + columns, "imatrix input of the wrong size")
            // In token order, one float sum per column, as llama-imatrix adds x[j]·x[j].
            unsafe sums[slot].withUnsafeMutableBufferPointer { all in
                let acc = unsafe all.baseAddress! + base
                for r in 0..<rows {
                    let x = unsafe input.baseAddress! + r * columns
                    for j in 0..<columns { unsafe acc[j] += x[j] * x[j] }
                }
                if problem == nil, let j = (0..<columns).first(where: { unsafe !acc[$0].isFinite }) { problem = (names[slot], j) }
            }
            counts[slot][expert] += rows
        }
    }

    /// The sums by GGUF name.
    var entries: [String: ImportanceSums.Entry] {
        var out: [String: ImportanceSums.Entry] = [:]
        for (i, name) in names.enumerated() { out[name] = ImportanceSums.Entry(sums: sums[i], counts: counts[i]) }
        return out
    }

    /// Which of `graph`'s matrices llama-imatrix collects, under their GGUF names: every
    /// block's projections (`blk.*`), and with `processOutput` the unembedding when it is a
    /// tensor of its own (`output.weight`; a tied one is `token_embd.weight`, which it skips).
    ///
    /// - Throws: `ConversionError` `.invalidRequest` naming the family or tensor for what is not
    ///   reproduced exactly: an encoder, a weight with no GGUF name, one whose GGUF tensor has
    ///   other columns (GPT-2's transposed Conv1D) or that is fused with another in GGUF.
    ///   Stacked experts (`ffn_*_exps`) get one row of sums per expert, the router
    ///   (`ffn_gate_inp`) is collected as a block matrix.
    static func map(_ graph: ModelGraph, processOutput: Bool) throws -> [Target] {
        let c = graph.config
        guard c.causal else {
            throw ConversionError.invalidRequest("\(c.family.rawValue) is an encoder; llama-imatrix computes importance on causal language models only")
        }
        guard let family = ModelFamily(name: c.family.rawValue) else {
            throw ConversionError.invalidRequest("\(c.family.rawValue) has no GGUF tensor names in WeightKit, so its importance cannot be named")
        }
        var map: [Target] = [], used: [String: String] = [:]
        func add(_ w: Weight, requireBlock: Bool) throws {
            let name = w.info.name
            guard let slot = WeightNames.ggufSlot(forHF: name, family: family) else {
                // A row slice of a fused weight is named `fused[part]`.
                if let open = name.firstIndex(of: "["), let fused = WeightNames.ggufSlot(forHF: String(name[..<open]), family: family) {
                    throw ConversionError.invalidRequest(
                        "\(name) is part of \(fused.name), fused in GGUF and split at load (\(family.rawValue)); the importance of fused tensors is not mapped yet")
                }
                throw ConversionError.invalidRequest("\(name) (\(family.rawValue)) has no GGUF name, so its importance cannot be stored under llama.cpp's name")
            }
            let expert = slot.layout == .stackedExperts ? slot.expert : nil
            guard let matrices = expert == nil ? 1 : c.moe?.experts, [.same, .ropeQ, .ropeK].contains(slot.layout) || expert != nil else {
                throw ConversionError.invalidRequest(
                    "\(name) is stored in GGUF as \(slot.name) with another layout (\(slot.layout)); its importance columns are not mapped back yet")
            }
            guard !requireBlock || slot.name.hasPrefix("blk.") else {
                throw ConversionError.invalidRequest("\(name) maps to \(slot.name), outside the blocks llama-imatrix collects")
            }
            let key = expert.map { "\(slot.name)[\($0)]" } ?? slot.name
            if let other = used[key], other != name {
                throw ConversionError.invalidRequest(
                    "\(other) and \(name) are both \(key) in GGUF (a fused tensor split at load); their importance is not combined yet")
            }
            guard used[key] == nil else { return }
            used[key] = name
            map.append(Target(runtime: name, gguf: slot.name, columns: w.columns, expert: expert, matrices: matrices))
        }
        for block in graph.blocks {
            var matrices: [Weight] = []
            _ = block.mappingMatrices { matrices.append($0); return $0 }
            // The router is a plain product (`mul_mat`), collected as any block matrix.
            if let router = block.experts?.router { matrices.append(router) }
            for w in matrices { try add(w, requireBlock: true) }
        }
        if processOutput, let unembedding = graph.unembedding,
           WeightNames.ggufSlot(forHF: unembedding.info.name, family: family)?.name == "output.weight" {
            try add(unembedding, requireBlock: false)
        }
        return map
    }
}
