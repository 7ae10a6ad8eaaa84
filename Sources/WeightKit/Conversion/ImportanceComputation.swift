import WeightKitCore
import WeightKitRuntime
import WeightKitTokenizer

/// How `ImportanceComputation.compute` runs (llama-imatrix's options of the same meaning).
public struct ImportanceOptions: Sendable {
    /// Tokens per chunk (`-c`, default 512); each chunk runs from an empty cache.
    public var chunkSize: Int
    /// At most this many chunks (`--chunks`); nil: every whole chunk of the text.
    public var chunks: Int?
    /// Also collect the unembedding when it is a tensor of its own (`--process-output`).
    public var processOutput: Bool
    /// What `imatrix.datasets` records (llama-imatrix: the text file's path as given).
    public var dataset: String
    /// Threads and kernels of the runtime.
    public var runtime: RuntimeOptions
    /// Called after each chunk with (chunks done, chunks).
    public var progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?

    /// Options with llama-imatrix's defaults.
    public init(
        chunkSize: Int = 512, chunks: Int? = nil, processOutput: Bool = false, dataset: String = "",
        runtime: RuntimeOptions = RuntimeOptions(), progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) {
        self.chunkSize = chunkSize
        self.chunks = chunks
        self.processOutput = processOutput
        self.dataset = dataset
        self.runtime = runtime
        self.progress = progress
    }
}

/// What `compute` did.
public struct ImportanceReport: Sendable {
    /// Tokens of the whole text (with the BOS the tokenizer adds, if any).
    public var textTokens: Int
    /// Chunks run.
    public var chunks: Int
    /// Tokens per chunk.
    public var chunkSize: Int
    /// Tokens whose dense products llama-imatrix runs but does not collect (the last few of a
    /// chunk when its final ubatch has fewer than 16 rows); they are not run here, except in a
    /// mixture of experts, whose routed experts llama-imatrix collects there too.
    public var skippedTokens: Int
    /// Whether each chunk started with the BOS token (the vocabulary adds one).
    public var beginsWithBOS: Bool
    /// Weights collected.
    public var tensors: Int
    /// Seconds spent running the chunks (tokenizing excluded).
    public var seconds: Double
    /// The file written, when `computeFile` wrote one.
    public var output: String?
}

/// `weightkit imatrix`: an importance matrix computed by running a model over a text, as
/// llama.cpp's `llama-imatrix` computes it (tools/imatrix/imatrix.cpp).
public enum ImportanceComputation {
    /// Tokenizes `text` as llama-imatrix does (`common_tokenize` with the vocabulary's special
    /// tokens, no parsing of special-token text), cuts it into `options.chunkSize`-token chunks,
    /// runs each from an empty cache with its first token replaced by BOS when the vocabulary
    /// adds one, and sums each collected weight's squared inputs (`ImportanceCollector`).
    ///
    /// - Throws: `ConversionError` `.invalidRequest` when the model has no tokenizer, the
    ///   chunk size is below 16 or above the model's context, the text is empty or tokenizes
    ///   to fewer than two chunks (llama-imatrix's "you need at least 2·c tokens"), it holds
    ///   special-token text, the vocabulary adds an EOS, or the model is not one whose products
    ///   are mapped exactly (`ImportanceCollector.map`); `RuntimeError` `.nonFinite` naming the
    ///   weight and chunk when a sum turns NaN or ±Inf, and the forward pass's errors with the chunk.
    public static func compute(model: LoadedModel, text: String, options: ImportanceOptions) throws -> (ImportanceSums, ImportanceReport) {
        let c = options.chunkSize
        guard let tokenizer = model.tokenizer else {
            throw ConversionError.invalidRequest("the model carries no tokenizer, so the text cannot be tokenized", path: model.path)
        }
        guard !text.isEmpty else { throw ConversionError.invalidRequest("the text is empty") }
        // llama-imatrix skips products over fewer than 16 rows (`src1->ne[1] < 16`), which
        // depends on how it batches chunks that small; not reproduced.
        guard c >= 16 else { throw ConversionError.invalidRequest("the chunk size must be at least 16 tokens (got \(c))") }
        let context = model.graph.config.contextLength
        guard context <= 0 || c <= context else {
            throw ConversionError.invalidRequest("the chunk size \(c) exceeds the model's context of \(context) tokens")
        }
        if let chunks = options.chunks, chunks < 1 { throw ConversionError.invalidRequest("--chunks must be at least 1 (got \(chunks))") }
        let map = try ImportanceCollector.map(model.graph, processOutput: options.processOutput)
        let (ids, bos) = try tokens(text, tokenizer)
        // compute_imatrix: "you need at least 2*n_ctx tokens for a context of n_ctx tokens".
        guard ids.count >= 2 * c else {
            throw ConversionError.invalidRequest(
                "the text tokenizes to \(ids.count) tokens; llama-imatrix needs at least \(2 * c) (two chunks of \(c)) and stops, and so does this")
        }
        let chunks = min(options.chunks ?? Int.max, ids.count / c)
        let collector = ImportanceCollector(map: map)
        let transformer = Transformer(graph: model.graph, maxSequence: c, options: options.runtime, batch: min(c, 512))
        transformer.matMulObserver = collector
        let clock = ContinuousClock(), start = clock.now
        let perBatch = max(1, batchTokens / c)
        var skipped = 0
        for i in 0..<chunks {
            var chunk = Array(ids[i * c..<(i + 1) * c])
            if let bos { chunk[0] = bos }
            // The last positions llama-imatrix does not collect affect nothing collected after
            // them (the next chunk starts from an empty cache), so they are not run.
            let tail = skippedTail(chunkSize: c, chunksInBatch: min(perBatch, chunks - i / perBatch * perBatch))
            skipped += tail
            transformer.reset()
            do {
                if tail > 0, collector.routed.contains(true) {
                    // llama-imatrix still collects the experts there (`mul_mat_id` has no
                    // 16-row floor): run those positions with only the experts collected.
                    _ = try transformer.forward(Array(chunk.dropLast(tail)))
                    collector.collectsDense = false
                    defer { collector.collectsDense = true }
                    _ = try transformer.forward(Array(chunk.suffix(tail)))
                } else {
                    chunk.removeLast(tail)
                    _ = try transformer.forward(chunk)
                }
            } catch {
                if let p = collector.problem { throw nonFinite(p, chunk: i, c) }
                throw RuntimeError((error as? RuntimeError)?.kind ?? .invalidRequest, "chunk \(i + 1) of \(chunks): \(error)")
            }
            if let p = collector.problem { throw nonFinite(p, chunk: i, c) }
            options.progress?(i + 1, chunks)
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        // llama-imatrix's chunk count: the most tokens any weight saw, in whole chunks.
        let collected = collector.counts.joined().max() ?? 0
        let sums = ImportanceSums(entries: collector.entries, datasets: [options.dataset], chunkCount: collected / c, chunkSize: c)
        let report = ImportanceReport(
            textTokens: ids.count, chunks: chunks, chunkSize: c, skippedTokens: skipped, beginsWithBOS: bos != nil, tensors: collector.names.count,
            seconds: seconds, output: nil)
        return (sums, report)
    }

    /// llama-imatrix's logical batch (`-b`, 2048 tokens: 2048 / c chunks run together as
    /// sequences of one batch) and physical batch (`-ub`, 512 tokens).
    static let batchTokens = 2048, ubatchTokens = 512

    /// How many of a chunk's last tokens llama-imatrix runs but does not collect: it splits a
    /// batch of `chunksInBatch` chunks into ubatches of ⌊512 / chunks⌋ positions of every chunk
    /// (512 at a time for one chunk, per batch of 2048 when the chunk is longer), and skips a
    /// product over fewer than 16 rows (`src1->ne[1] < 16`), which only the last ubatch can be.
    /// Checked against llama-imatrix: 5 chunks of 103 or 105 count 510 tokens (4 chunks), 10 of 52
    /// count 510, 5 of 110 all 550.
    static func skippedTail(chunkSize c: Int, chunksInBatch n: Int) -> Int {
        let tail: Int, rows: Int
        if c > batchTokens {
            tail = (c - (c - 1) / batchTokens * batchTokens) % ubatchTokens
            rows = tail
        } else {
            guard n * c > ubatchTokens else { return 0 }
            tail = c % (ubatchTokens / n)
            rows = n * tail
        }
        return rows < 16 ? tail : 0
    }

    /// `compute` on the UTF-8 text file `textPath` (recorded in `imatrix.datasets` unless
    /// `options.dataset` says otherwise), written to `output` in llama-imatrix's GGUF format.
    ///
    /// - Throws: as `compute`; `ConversionError` `.outputIsInput`/`.outputExists` (before any
    ///   work) for an output that is the model or the text, or exists without `overwrite`.
    public static func computeFile(
        model: LoadedModel, textPath: String, output: String, options: ImportanceOptions, overwrite: Bool = false
    ) throws -> ImportanceReport {
        try OutputCheck.check(output, inputs: [model.path, textPath], overwrite: overwrite)
        let text = try TextFile.read(textPath, cap: 256 << 20)
        var options = options
        if options.dataset.isEmpty { options.dataset = textPath }
        var (sums, report) = try compute(model: model, text: text, options: options)
        try sums.write(to: output)
        report.output = output
        return report
    }

    /// The ids llama-imatrix runs (`common_tokenize(ctx, text, add_special: true,
    /// parse_special: false)`) and the BOS each chunk starts with when the vocabulary adds one.
    static func tokens(_ text: String, _ tokenizer: any Tokenizer) throws -> (ids: [Int], bos: Int?) {
        let ids = tokenizer.encode(text, addSpecialTokens: true), plain = tokenizer.encode(text, addSpecialTokens: false)
        // Without --parse-special llama.cpp reads "<|im_start|>" as plain characters; our
        // tokenizers match special-token text, so such a text would tokenize differently.
        if let special = plain.first(where: { tokenizer.isSpecial($0) }) {
            throw ConversionError.invalidRequest(
                "the text holds the special token \(tokenizer.token(for: special).map { "\"\($0)\"" } ?? "\(special)"), which llama-imatrix reads as plain text; remove it")
        }
        let addsBOS = ids.count > plain.count && tokenizer.bosTokenId != nil && ids.first == tokenizer.bosTokenId
        // llama-imatrix asserts the vocabulary adds no EOS (`!llama_vocab_get_add_eos`).
        guard ids.count - plain.count == (addsBOS ? 1 : 0) else {
            throw ConversionError.invalidRequest("the tokenizer adds special tokens other than a leading BOS; llama-imatrix refuses a vocabulary that adds an EOS")
        }
        return (ids, addsBOS ? tokenizer.bosTokenId : nil)
    }

    /// `.nonFinite` naming the weight and the chunk (llama-imatrix: "non-finite values detected in …").
    static func nonFinite(_ p: (name: String, column: Int), chunk: Int, _ c: Int) -> RuntimeError {
        RuntimeError(
            .nonFinite,
            "the squared inputs of \(p.name) are not finite (NaN or ±Inf) at column \(p.column) in chunk \(chunk + 1) (tokens \(chunk * c)..<\((chunk + 1) * c))")
    }
}
