import WeightKitCore
import WeightKitGraph
import WeightKitRuntime

/// Accumulates, for each weight llama-imatrix collects, Σ x[j]² over the rows of every input it
/// multiplies and the number of rows (`IMatrixCollector::collect_imatrix` for `GGML_OP_MUL_MAT`):
/// a `MatMulObserver` on the Transformer running the text. Weights are keyed by the runtime's
/// name and stored under their GGUF name; a product whose sums turn non-finite is remembered
/// (`problem`) for the caller to stop on, as llama-imatrix stops.
final class ImportanceCollector: MatMulObserver {
    /// Runtime weight name → slot in `names`/`sums`.
    let slots: [String: Int]
    /// GGUF name of each slot.
    let names: [String]
    /// Σ x² per input column of each slot: [slots][columns].
    var sums: [[Float]]
    /// Rows summed per slot.
    var counts: [Int]
    /// The first weight whose sums became non-finite, and the column.
    var problem: (name: String, column: Int)?

    /// Collects the weights `map` names (runtime name → GGUF name), each with `columns` inputs.
    init(map: [(runtime: String, gguf: String, columns: Int)]) {
        var slots: [String: Int] = [:]
        for (i, m) in map.enumerated() { slots[m.runtime] = i }
        self.slots = slots
        names = map.map(\.gguf)
        sums = map.map { [Float](repeating: 0, count: $0.columns) }
        counts = [Int](repeating: 0, count: map.count)
    }

    func multiplying(_ weights: [Weight], input: UnsafeBufferPointer<Float>, rows: Int) {
        var seen: [Int] = []
        for w in weights {
            guard let slot = slots[w.info.name], !seen.contains(slot) else { continue }
            seen.append(slot)
            let columns = w.columns
            precondition(input.count == rows * columns && sums[slot].count == columns, "imatrix input of the wrong size")
            // In token order, one float sum per column, as llama-imatrix adds x[j]·x[j].
            unsafe sums[slot].withUnsafeMutableBufferPointer { acc in
                for r in 0..<rows {
                    let x = unsafe input.baseAddress! + r * columns
                    for j in 0..<columns { unsafe acc[j] += x[j] * x[j] }
                }
                if problem == nil, let j = acc.firstIndex(where: { !$0.isFinite }) { problem = (names[slot], j) }
            }
            counts[slot] += rows
        }
    }

    /// The sums by GGUF name.
    var entries: [String: ImportanceSums.Entry] {
        var out: [String: ImportanceSums.Entry] = [:]
        for (i, name) in names.enumerated() { out[name] = ImportanceSums.Entry(sums: sums[i], count: counts[i]) }
        return out
    }

    /// Which of `graph`'s matrices llama-imatrix collects, under their GGUF names: every
    /// block's projections (`blk.*`), and with `processOutput` the unembedding when it is a
    /// tensor of its own (`output.weight`; a tied one is `token_embd.weight`, which it skips).
    ///
    /// - Throws: `ConversionError` `.invalidRequest` naming the family or tensor for what is not
    ///   reproduced exactly: an encoder, a mixture of experts (llama-imatrix counts each expert's
    ///   routed tokens through `mul_mat_id`), a weight with no GGUF name, one whose GGUF tensor
    ///   has other columns (GPT-2's transposed Conv1D) or that is fused with another in GGUF.
    static func map(_ graph: ModelGraph, processOutput: Bool) throws -> [(runtime: String, gguf: String, columns: Int)] {
        let c = graph.config
        guard c.causal else {
            throw ConversionError.invalidRequest("\(c.family.rawValue) is an encoder; llama-imatrix computes importance on causal language models only")
        }
        if c.moe != nil {
            throw ConversionError.invalidRequest(
                "\(c.family.rawValue) routes tokens to experts; llama-imatrix's per-expert sums (mul_mat_id) are not implemented in weightkit imatrix yet")
        }
        guard let family = ModelFamily(name: c.family.rawValue) else {
            throw ConversionError.invalidRequest("\(c.family.rawValue) has no GGUF tensor names in WeightKit, so its importance cannot be named")
        }
        var map: [(runtime: String, gguf: String, columns: Int)] = [], used: [String: String] = [:]
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
            guard slot.expert == nil, [.same, .ropeQ, .ropeK].contains(slot.layout) else {
                throw ConversionError.invalidRequest(
                    "\(name) is stored in GGUF as \(slot.name) with another layout (\(slot.layout)); its importance columns are not mapped back yet")
            }
            guard !requireBlock || slot.name.hasPrefix("blk.") else {
                throw ConversionError.invalidRequest("\(name) maps to \(slot.name), outside the blocks llama-imatrix collects")
            }
            if let other = used[slot.name], other != name {
                throw ConversionError.invalidRequest(
                    "\(other) and \(name) are both \(slot.name) in GGUF (a fused tensor split at load); their importance is not combined yet")
            }
            guard used[slot.name] == nil else { return }
            used[slot.name] = name
            map.append((name, slot.name, w.columns))
        }
        for block in graph.blocks {
            var matrices: [Weight] = []
            _ = block.mappingMatrices { matrices.append($0); return $0 }
            for w in matrices { try add(w, requireBlock: true) }
        }
        if processOutput, let unembedding = graph.unembedding,
           WeightNames.ggufSlot(forHF: unembedding.info.name, family: family)?.name == "output.weight" {
            try add(unembedding, requireBlock: false)
        }
        return map
    }
}
