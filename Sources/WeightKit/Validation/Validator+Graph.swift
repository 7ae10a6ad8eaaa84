import WeightKitCore
import WeightKitFormats
import WeightKitGraph
import WeightKitTokenizer

extension Validator {
    /// Most tensors reported as not part of the architecture before the list stops growing.
    static let maxExtraTensors = 32

    /// Graph checks when the input names an architecture WeightKit knows: missing, extra and
    /// mis-shaped tensors (through `ModelGraph.bind`, the runtime's own binder), tied-embedding
    /// consistency, and vocabulary size against the tokenizer.
    static func graphFindings(
        path: String, format: TensorFormat, source: any TensorSource
    ) -> (architecture: String?, findings: [ValidationFinding]) {
        var findings: [ValidationFinding] = []
        let context: GraphContext
        do {
            guard let found = try GraphContext.make(path: path, format: format, source: source) else { return (nil, []) }
            context = found
        } catch let error as GraphError where error.kind == .unknownArchitecture {
            return (nil, [ValidationFinding(.note, .graph, "architecture not recognised (\(error.message)); graph checks skipped")])
        } catch let error as GraphError where error.kind == .invalidConfig {
            // The tensors may be fine; the config will not run: a warning (an error with --strict).
            return (nil, [ValidationFinding(.warning, .graph, error.message + "; graph checks skipped", kind: error.kind.rawValue)])
        } catch let error as GraphError {
            return (nil, [graphFinding(error)])
        } catch let error as FormatError {
            return (nil, [ValidationFinding(.error, .structure, error: error)])
        } catch {
            return (nil, [ValidationFinding(.error, .graph, "\(error)")])
        }
        let config = context.config
        // One bind lists every tensor the architecture does not use; a missing or mis-shaped
        // tensor ends it instead.
        do {
            let unused = try ModelGraph.bindListingUnused(context.source, config: config).unused
            for name in unused.prefix(maxExtraTensors) {
                findings.append(ValidationFinding(
                    .warning, .graph, "not part of the \(config.family.rawValue) architecture", tensorName: name,
                    kind: GraphError.Kind.unexpectedTensor.rawValue))
            }
            // Past the cap, the next leftover is reported as the binder would refuse it.
            if unused.count > maxExtraTensors {
                findings.append(graphFinding(.unusedTensor(unused[maxExtraTensors])))
            }
        } catch let error as GraphError {
            findings.append(graphFinding(error))
        } catch let error as FormatError {
            findings.append(ValidationFinding(.error, .structure, error: error))
        } catch {
            findings.append(ValidationFinding(.error, .graph, "\(error)"))
        }
        findings += tiedEmbeddingFindings(context)
        findings += vocabularyFindings(context)
        return (config.family.rawValue, findings)
    }

    /// A graph error as a finding; a dtype the runtime cannot compute on is not a defect of the file.
    static func graphFinding(_ error: GraphError) -> ValidationFinding {
        let severity: ValidationFinding.Severity = error.kind == .unsupportedDType ? .note : .error
        let suffix = error.kind == .unsupportedDType ? " (the runtime cannot bind it; remaining graph checks skipped)" : ""
        return ValidationFinding(severity, .graph, error.message + suffix, tensorName: error.tensorName, kind: error.kind.rawValue)
    }

    /// A tied model that also stores `lm_head.weight` must store the same bytes as the embedding
    /// (the runtime uses the embedding and ignores the copy).
    static func tiedEmbeddingFindings(_ context: GraphContext) -> [ValidationFinding] {
        let source = context.source
        guard context.config.tiedEmbeddings,
              let head = source.tensor(named: context.names.head), let embedding = source.tensor(named: context.names.embedding)
        else { return [] }
        guard head.shape == embedding.shape, head.dtype == embedding.dtype,
              let a = try? source.storage(of: head), let b = try? source.storage(of: embedding)
        else {
            return [ValidationFinding(.warning, .graph, "tie_word_embeddings is true but \(head.name) (\(head.dtype.shortName) \(head.shape)) does not match \(embedding.name) (\(embedding.dtype.shortName) \(embedding.shape)); the embedding is used", tensorName: head.name)]
        }
        let same = a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
        return same ? [] : [ValidationFinding(.warning, .graph, "tie_word_embeddings is true but \(head.name) differs from \(embedding.name); the embedding is used", tensorName: head.name)]
    }

    /// Token ids the tokenizer can produce must index the embedding.
    static func vocabularyFindings(_ context: GraphContext) -> [ValidationFinding] {
        guard let tokenizer = context.tokenizer else {
            return [ValidationFinding(.note, .graph, "no tokenizer; vocabulary size not checked")]
        }
        let vocab = context.config.vocabSize, size = tokenizer.vocabularySize
        if size > vocab {
            return [ValidationFinding(.error, .graph, "the tokenizer has \(size) tokens but the model's vocabulary (embedding rows) is \(vocab): ids \(vocab)..<\(size) would index past the embedding")]
        }
        if size < vocab {
            return [ValidationFinding(.note, .graph, "the tokenizer has \(size) tokens, the embedding \(vocab) rows (padding rows are common)")]
        }
        return []
    }
}
