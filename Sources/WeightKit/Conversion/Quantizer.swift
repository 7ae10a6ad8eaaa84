import WeightKitCore
import WeightKitFormats
import WeightKitGraph
import WeightKitQuantize
import WeightKitRuntime

/// How `Quantizer.quantize` chooses, encodes and writes.
public struct QuantizationOptions: Sendable {
    /// Which tensors become which block type.
    public var policy: QuantPolicy
    /// The input's format; nil detects it.
    public var inputFormat: TensorFormat?
    /// Threads encoding rows (0: one per core).
    public var threads: Int
    /// Replace an existing output (never the input itself).
    public var overwrite: Bool
    /// Write a .gguf output as a `llama-gguf-split` shard set of at most this many bytes of
    /// tensor data per shard (`OUT-00001-of-0000N.gguf`); nil writes one file.
    public var shardSize: Int?
    /// Called with (tensors written, total) as writing progresses.
    public var progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?
    /// A llama-quantize mix (`Q4_K_M` …): when set, its per-tensor rules choose every type and
    /// `policy` is not used.
    public var mix: QuantMix?
    /// llama-imatrix's importance matrix (see `ImportanceMatrix.read(path:)`), for `mix` or for
    /// `policy`'s scheme (as `llama-quantize --pure --imatrix`; Q8_0 ignores it, as ggml does).
    public var importance: ImportanceMatrix?
    /// The importance matrix's path, recorded in a GGUF output as llama-quantize records it.
    public var importancePath: String?

    /// Creates options: `policy` on a detected input, all cores, no overwriting, one file; with
    /// `importance`, as `llama-quantize --pure --imatrix` (read from `importancePath`).
    public init(
        policy: QuantPolicy, inputFormat: TensorFormat? = nil, threads: Int = 0, overwrite: Bool = false,
        shardSize: Int? = nil, progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil,
        importance: ImportanceMatrix? = nil, importancePath: String? = nil
    ) {
        self.policy = policy
        self.importance = importance
        self.importancePath = importancePath
        self.inputFormat = inputFormat
        self.threads = threads
        self.overwrite = overwrite
        self.shardSize = shardSize
        self.progress = progress
    }

    /// Creates options quantizing with llama-quantize's `mix`, optionally with an importance matrix.
    public init(
        mix: QuantMix, importance: ImportanceMatrix? = nil, importancePath: String? = nil, inputFormat: TensorFormat? = nil,
        threads: Int = 0, overwrite: Bool = false, shardSize: Int? = nil, progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) {
        self.init(
            policy: QuantPolicy(scheme: .q8_0), inputFormat: inputFormat, threads: threads, overwrite: overwrite,
            shardSize: shardSize, progress: progress)
        self.mix = mix
        self.importance = importance
        self.importancePath = importancePath
    }
}

/// Block-quantizes a model's weight matrices into a .gguf or .wkp file, one call from input
/// path to complete output, with the error of every quantized tensor.
public enum Quantizer {
    /// Quantizes `input` (any readable file or folder) into `output` (.gguf or .wkp).
    ///
    /// Block-quantized inputs are decoded to f32 first; a folder (or a pack holding its
    /// config) → .gguf gets GGUF names,
    /// llama.cpp's Q/K order, hyperparameters and tokenizer keys, with `general.file_type` set
    /// to the policy's scheme (under a mix, llama-quantize's file type, and its tensor order in a
    /// .gguf). A .wkp output is the pack `Converter.convert` writes: a folder's config,
    /// tokenizer files and chat template; a GGUF model quantized under its GGUF names (as for a
    /// .gguf output), then given Hugging Face names and Q/K order with its config, tokenizer and
    /// chat templates (`packPayloads`). Each tensor is quantized when the writer reaches it, rows
    /// split over `options.threads`, so memory stays at one tensor.
    ///
    /// - Throws: `ConversionError` when the output is the input or exists without `overwrite`,
    ///   `FormatError` `.unsupported` for an output format that cannot hold blocks or a GGUF
    ///   model whose pack could not run what the GGUF runs (GPT-2's transposed Conv1D blocks,
    ///   `Converter.packLayout`'s refusals), and the readers' and writers' `FormatError`s.
    public static func quantize(input: String, output: String, options: QuantizationOptions) throws -> QuantizationReport {
        let clock = ContinuousClock(), started = clock.now
        let target = FormatDetector.outputFormat(for: output)
        guard let target, target == .gguf || target == .wkp else {
            throw FormatError(
                .unsupported, "quantized blocks can only be written to .gguf or .wkp (\(target?.rawValue ?? "unknown format") cannot hold them)",
                path: output)
        }
        if options.shardSize != nil, target != .gguf {
            throw FormatError(.unsupported, "a \(target.rawValue) file cannot be sharded; shards are written for .gguf output", path: output)
        }
        try OutputCheck.check(output, inputs: [input], overwrite: options.overwrite)
        let plan = try makePlan(input: input, target: target, options: options)
        let parallel = Parallel(threads: options.threads)
        let quantized = try QuantizedTensorSource(base: plan.source, targets: plan.targets) { count, body in
            // The pool needs an escaping closure; it is released before forEachRange returns.
            withoutActuallyEscaping(body) { body in parallel.forEachRange(count, minimumPerThread: 16, body) }
        }
        var tensors = quantized.tensors
        if options.mix != nil, target == .gguf {
            // llama-quantize writes its weights_map order; so do we, so the data sections match.
            let rank = Dictionary(uniqueKeysWithValues: QuantMix.llamaOrder(tensors.map(\.name)).enumerated().map { ($1, $0) })
            tensors.sort { rank[$0.name]! < rank[$1.name]! }
        }
        var payloads: [TensorPayload], origins: [String: String] = [:]
        if let model = plan.ggufPack {
            (payloads, origins) = try packPayloads(tensors: tensors, quantized: quantized, plan: plan, model: model)
        } else {
            payloads = try tensors.map { t in try TensorPayload(source: quantized, input: t, dtype: plan.casts[t.name]) }
        }
        var writeOptions = plan.options
        writeOptions.progress = options.progress
        writeOptions.shardSize = options.shardSize
        for path in GGUFWriter.outputPaths(for: payloads.map(\.info), path: output, shardSize: options.shardSize) where path != output {
            try OutputCheck.check(path, inputs: plan.source.files, overwrite: options.overwrite)
        }
        let written = target == .gguf
            ? try GGUFWriter.write(payloads, metadata: plan.metadata, typedHints: plan.typedHints, to: output, options: writeOptions)
            : try FormatRegistry.write(payloads, metadata: plan.ggufPack?.metadata ?? plan.metadata, to: output, format: target, options: writeOptions)
        var report = QuantizationReport(
            output: output, input: plan.source, payloads: payloads, stats: quantized.errorStats, bytesWritten: written.bytesWritten,
            seconds: (clock.now - started).seconds, warnings: plan.warnings, reasons: plan.reasons, origins: origins)
        report.files = written.files
        return report
    }

    /// The payloads of a GGUF model's pack: the quantized `tensors` (GGUF names, read from
    /// `quantized`) as `weightkit convert` puts a GGUF's tensors in a pack — Hugging Face names,
    /// Q/K rows in Hugging Face's order (the same blocks, rows reordered), experts split — with
    /// `plan`'s casts; and each output name's GGUF tensor, for the report.
    ///
    /// - Throws: `FormatError` `.unsupported` naming a quantized tensor whose Hugging Face layout
    ///   cannot keep its blocks (GPT-2's Conv1D weights, stored transposed), and what
    ///   `Converter.packSource` throws.
    static func packPayloads(
        tensors: [TensorInfo], quantized: any TensorSource, plan: QuantizationPlan, model: Converter.GGUFPackModel
    ) throws -> ([TensorPayload], [String: String]) {
        let (hf, source) = try Converter.packSource(tensors: tensors, base: quantized, model: model, keepBlocks: blocksKept(tensors))
        let origins = try packOrigins(hf, model: model)
        let payloads = try source.tensors.map { t in
            try TensorPayload(source: source, input: t, dtype: origins[t.name].flatMap { plan.casts[$0] })
        }
        return (payloads, origins)
    }

    /// Every block type among `tensors`: a pack keeps the blocks quantizing made.
    static func blocksKept(_ tensors: [TensorInfo]) -> Set<DType> { Set(tensors.map(\.dtype).filter(\.isQuantized)) }

    /// Each pack tensor's GGUF tensor name under `hf` (GGUF → Hugging Face for `model`).
    ///
    /// - Throws: `FormatError` `.unsupported` naming a quantized tensor that `hf` would decode
    ///   (GPT-2's Conv1D weights, stored transposed in Hugging Face's layout).
    static func packOrigins(_ hf: GGUFConversion.Plan, model: Converter.GGUFPackModel) throws -> [String: String] {
        for entry in hf.inputs where entry.input.dtype.isQuantized && !entry.output.dtype.isQuantized {
            throw FormatError(
                .unsupported, "\(model.family.rawValue) stores this tensor transposed in Hugging Face's layout, so its \(entry.input.dtype.shortName) blocks (quantized along the GGUF tensor's rows) cannot be kept in a pack: write a .gguf, or quantize the model folder into a .wkp",
                path: model.path, tensorName: entry.input.name)
        }
        var origins: [String: String] = [:]
        for entry in hf.entries {
            if case .input(let name, _)? = entry.parts.first { origins[entry.output.name] = name }
        }
        return origins
    }

    /// What `quantize` would write, without encoding or writing anything (llama-quantize's
    /// `--dry-run`): every tensor's output type and size, and under a mix the reason for it.
    /// Types WeightKit cannot encode yet are listed too; `quantize` refuses them.
    ///
    /// - Throws: what planning `quantize` throws (unreadable input, a mix without GGUF names,
    ///   Q2_K_S without an importance matrix, an importance entry of the wrong size).
    public static func dryRun(input: String, output: String, options: QuantizationOptions) throws -> QuantizationReport {
        let clock = ContinuousClock(), started = clock.now
        let target = FormatDetector.outputFormat(for: output)
        guard let target, target == .gguf || target == .wkp else {
            throw FormatError(.unsupported, "quantized blocks can only be written to .gguf or .wkp", path: output)
        }
        let plan = try makePlan(input: input, target: target, options: options)
        var rows = plan.source.tensors.map { t in
            let to = plan.targets[t.name]?.dtype ?? plan.casts[t.name] ?? t.dtype
            return QuantizationReport.Row(
                name: t.name, from: t.dtype, to: to, bytesBefore: t.byteCount, bytesAfter: t.shape.byteCount(of: to) ?? t.byteCount,
                stats: nil, reason: plan.reasons[t.name])
        }
        if let model = plan.ggufPack {  // the pack's names, as quantize writes them
            let planned = rows.map { r in
                TensorInfo(name: r.name, dtype: r.to, shape: plan.source.tensor(named: r.name)!.shape, byteCount: r.bytesAfter)
            }
            let hf = try GGUFConversion.toHuggingFace(tensors: planned, ggufMetadata: model.ggufMetadata, keepBlocks: blocksKept(planned))
            let origins = try packOrigins(hf, model: model)
            let byName = Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            rows = hf.entries.compactMap { e in
                guard let name = origins[e.output.name], var row = byName[name], let input = plan.source.tensor(named: name) else { return nil }
                row.bytesBefore = QuantizationReport.share(of: input, elements: e.output.elementCount)
                row.name = e.output.name
                row.to = e.output.dtype
                row.bytesAfter = e.output.byteCount
                return row
            }
        }
        return QuantizationReport(
            output: output, rows: rows, elements: plan.source.tensors.reduce(0) { $0 + $1.elementCount }, bytesWritten: 0,
            seconds: (clock.now - started).seconds, warnings: plan.warnings)
    }

    /// The plan for `options`: a mix's rules, or the policy.
    static func makePlan(input: String, target: TensorFormat, options: QuantizationOptions) throws -> QuantizationPlan {
        if let mix = options.mix {
            return try QuantizationPlan.make(
                input: input, format: options.inputFormat, target: target, mix: mix, importance: options.importance,
                importancePath: options.importancePath)
        }
        if let importance = options.importance {
            return try QuantizationPlan.make(
                input: input, format: options.inputFormat, target: target, policy: options.policy, importance: importance,
                importancePath: options.importancePath)
        }
        return try QuantizationPlan.make(input: input, format: options.inputFormat, target: target, policy: options.policy)
    }
}
