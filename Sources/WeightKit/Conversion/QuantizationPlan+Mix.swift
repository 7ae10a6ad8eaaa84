import WeightKitCore
import WeightKitFormats
import WeightKitGraph
import WeightKitQuantize

/// How a source's tensors are seen by llama-quantize's rules: under their GGUF names, with
/// the GGUF tensor's shape (stacked experts `[experts, rows, columns]`).
struct MixView {
    /// A source tensor's place in the GGUF model.
    struct Slot {
        /// The GGUF tensor name.
        var name: String
        /// The expert this source tensor is, when the GGUF tensor stacks several.
        var expert: Int?
        /// Whether the source stores the GGUF tensor transposed (GPT-2's Conv1D [in, out]): its
        /// rows are the GGUF tensor's columns.
        var transposed = false
    }

    /// The model's tensors as llama-quantize sees them.
    var ggufTensors: [TensorInfo]
    /// The model facts from GGUF metadata.
    var model: QuantMixModel
    /// Source name → GGUF slot (nil: the source already uses GGUF names).
    var slots: [String: Slot]?

    /// Creates a view; `slots` nil when the source already uses GGUF names.
    init(ggufTensors: [TensorInfo], model: QuantMixModel, slots: [String: Slot]?) {
        self.ggufTensors = ggufTensors
        self.model = model
        self.slots = slots
        self.shapes = Dictionary(ggufTensors.map { ($0.name, $0.shape.dims) }, uniquingKeysWith: { a, _ in a })
    }

    /// GGUF tensor name → its dims.
    private var shapes: [String: [Int]]

    /// The GGUF slot of a source tensor.
    func slot(of name: String) -> Slot? {
        guard let slots else { return Slot(name: name, expert: nil) }
        return slots[name]
    }

    /// The importance of source tensor `t`'s columns, found as llama-quantize finds it: the
    /// entry of its GGUF tensor (all experts' rows for a stacked tensor, then this expert's row
    /// when `t` is one expert of it).
    ///
    /// - Returns: nil when `importance` has no entry for the slot (or a token embedding's entry
    ///   has another size, which llama-quantize ignores).
    /// - Throws: `ImportanceMatrix.importance(for:columns:matrices:)`'s `.sizeMismatch`;
    ///   `.unsupported` for a source tensor stored transposed (its rows, which it is quantized
    ///   along, are the entry's columns' outputs, not its inputs).
    func importance(_ importance: ImportanceMatrix, slot: Slot, tensor t: TensorInfo) throws(FormatError) -> [Float]? {
        let dims = shapes[slot.name] ?? t.shape.dims
        let columns = dims.last ?? 0, matrices = dims.count >= 3 ? dims[dims.count - 3] : 1
        guard let all = try importance.importance(for: slot.name, columns: columns, matrices: matrices) else { return nil }
        guard !slot.transposed else {
            throw FormatError(
                .unsupported, "stored transposed to \(slot.name) ([in, out], as GPT-2's Conv1D): quantized along its own rows, it has no per-column importance; write a .gguf (GGUF layout) to use the importance matrix",
                tensorName: t.name)
        }
        guard let e = slot.expert else { return all }
        return Array(all[(e * columns)..<((e + 1) * columns)])
    }

    /// The view of `plan`'s source: GGUF names as they are (a GGUF input, a folder or model
    /// pack → .gguf), or a folder's or pack's Hugging Face names mapped through the folder →
    /// GGUF conversion (the pack's config standing for config.json).
    ///
    /// - Throws: `FormatError` `.unsupported` for an input with neither GGUF names and metadata
    ///   nor a model config (a lone safetensors file, a pack without a config).
    /// `purpose` names what needs the view in the error ("a llama-quantize mix").
    static func make(plan: QuantizationPlan, input: String, format: TensorFormat?, purpose: String = "a llama-quantize mix") throws -> MixView {
        let names = plan.source.tensors.map(\.name)
        let hasGGUFNames = names.contains { $0.hasPrefix("blk.") || $0 == "token_embd.weight" }
        if hasGGUFNames, plan.metadata["general.architecture"] != nil {
            return MixView(ggufTensors: plan.source.tensors, model: try QuantMixModel(ggufMetadata: plan.metadata, path: input), slots: nil)
        }
        let detected = try format ?? FormatDetector.detect(path: input)
        let gguf: Converter.GGUFSource
        switch detected {
        case .huggingFace:
            gguf = try Converter.ggufSource(huggingFaceFolder: input, fileType: nil)
        case .wkp:
            let pack = try PackReader(path: input)
            guard pack.config != nil else {
                throw FormatError(
                    .unsupported, "\(purpose) needs GGUF tensor names and the model's architecture and head counts, and this pack holds no config: pack the model folder with config.json (weightkit convert FOLDER out.wkp) or give a GGUF",
                    path: input)
            }
            gguf = try Converter.ggufSource(pack: pack, fileType: nil)
        default:
            throw FormatError(
                .unsupported, "\(purpose) needs GGUF tensor names and the model's architecture and head counts: give a GGUF, the model folder with config.json or a pack of it (this \(detected.rawValue) input has neither)",
                path: input)
        }
        var slots: [String: Slot] = [:]
        for entry in gguf.source.entries {
            let stacked = entry.output.shape.rank == 3 && entry.parts.count > 1
            for (k, part) in entry.parts.enumerated() {
                guard case .input(let source, _) = part else { continue }
                let layout = gguf.family.flatMap { WeightNames.ggufSlot(forHF: source, family: $0)?.layout }
                slots[source] = Slot(name: entry.output.name, expert: stacked ? k : nil, transposed: layout == .transposed)
            }
        }
        return MixView(
            ggufTensors: gguf.source.tensors, model: try QuantMixModel(ggufMetadata: gguf.metadata, path: input), slots: slots)
    }
}

extension QuantizationPlan {
    /// Plans quantizing `input` into `target` with llama-quantize's `mix` and, when given,
    /// its importance matrix (read from `importancePath`).
    static func make(
        input: String, format: TensorFormat?, target: TensorFormat, mix: QuantMix, importance: ImportanceMatrix?, importancePath: String?
    ) throws -> QuantizationPlan {
        var plan = try read(input: input, format: format, target: target, fileType: mix.defaultType)
        let view = try MixView.make(plan: plan, input: input, format: format)
        let mixPlan = try mix.plan(tensors: view.ggufTensors, model: view.model, hasImportance: importance != nil)
        let choices = Dictionary(mixPlan.choices.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for t in plan.source.tensors {
            guard let slot = view.slot(of: t.name), let choice = choices[slot.name] else {
                // Only tensors llama-quantize would never quantize may lack a GGUF name.
                if t.shape.rank >= 2, t.dtype.isFloatingPoint {
                    throw FormatError(
                        .unsupported, "no GGUF name for this tensor, so llama-quantize's rules cannot place it (\(mix.llamaName))",
                        path: input, tensorName: t.name)
                }
                try plan.keepStorable(t, target: target, input: input)
                continue
            }
            plan.reasons[t.name] = choice.reason
            guard choice.quantizable, choice.dtype != t.dtype else {
                try plan.keepStorable(t, target: target, input: input)
                continue
            }
            guard choice.dtype.isQuantized else {
                plan.casts[t.name] = choice.dtype  // F16 for rows no block divides
                continue
            }
            let weights = try importance.flatMap { try view.importance($0, slot: slot, tensor: t) }
            if weights == nil, choice.requiresImportance {
                throw FormatError(
                    .unsupported, "missing importance matrix entry for \(slot.name), which \(mix.llamaName) quantizes to \(choice.dtype.shortName.uppercased()) (llama-quantize refuses too)",
                    path: importancePath, tensorName: t.name)
            }
            plan.targets[t.name] = QuantTarget(dtype: choice.dtype, importance: weights)
        }
        if target == .gguf { plan.setMixMetadata(mix, importance: importance, importancePath: importancePath) }
        if let importance {
            let unused = importance.unused(by: view.ggufTensors.map(\.name))
            if !unused.isEmpty {
                plan.warnings.append(ConversionWarning(
                    .importanceUnused, "the importance matrix has \(unused.count) entries for tensors not in the model (llama-quantize ignores them too)",
                    names: unused))
            }
        }
        return plan
    }

    /// Leaves `t` as it is, cast to f32 when a GGUF output cannot hold its dtype.
    mutating func keepStorable(_ t: TensorInfo, target: TensorFormat, input: String) throws {
        guard target == .gguf, !FormatRegistry.canStore(t.dtype, in: .gguf) else { return }
        guard t.dtype.isFloatingPoint else {
            throw FormatError(.unsupportedDType, "GGUF output cannot hold \(t.dtype.shortName)", path: input, tensorName: t.name)
        }
        casts[t.name] = .float32
    }

    /// The keys llama-quantize writes: `general.file_type` (the mix's `llama_ftype`),
    /// `general.quantization_version` (2), and with an importance matrix its file, first
    /// dataset, entry count and chunk count (`quantize.imatrix.*`, strings cut to 127 bytes as
    /// its key-value overrides are).
    ///
    /// As gguf's `gguf_set_val_*` does, a key set here moves to the end (in llama-quantize's
    /// order), and the split keys are removed, so the header matches llama-quantize's.
    mutating func setMixMetadata(_ mix: QuantMix, importance: ImportanceMatrix?, importancePath: String?) {
        for key in ["split.no", "split.count", "split.tensors.count"] {
            metadata[key] = nil
            typedHints[key] = nil
        }
        setUInt32("general.quantization_version", 2)
        setUInt32("general.file_type", mix.fileType)
        if let importance { setImportanceMetadata(importance, path: importancePath) }
    }

    /// llama-quantize's `quantize.imatrix.*` keys for `importance` (read from `path`), moved
    /// to the end in its order.
    mutating func setImportanceMetadata(_ importance: ImportanceMatrix, path: String?) {
        if let path { setString("quantize.imatrix.file", path) }
        if let first = importance.datasets.first { setString("quantize.imatrix.dataset", first) }
        setUInt32("quantize.imatrix.entries_count", UInt32(clamping: importance.entries.count))
        if importance.chunkCount > 0 { setUInt32("quantize.imatrix.chunks_count", UInt32(clamping: importance.chunkCount)) }
    }

    /// Sets a u32 key at the end, as `gguf_set_val_u32` does.
    private mutating func setUInt32(_ key: String, _ value: UInt32) {
        metadata[key] = nil
        metadata[key] = .uint(UInt64(value))
        typedHints[key] = .uint32(value)
    }

    /// Sets a string key at the end, cut to 127 bytes as llama-quantize's key-value overrides are.
    private mutating func setString(_ key: String, _ value: String) {
        var bytes = Array(value.utf8.prefix(127))
        while String(validating: bytes, as: UTF8.self) == nil, !bytes.isEmpty { bytes.removeLast() }
        metadata[key] = nil
        metadata[key] = .string(String(decoding: bytes, as: UTF8.self))
        typedHints[key] = nil
    }
}
