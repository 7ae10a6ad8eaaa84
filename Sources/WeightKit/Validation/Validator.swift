import WeightKitCore
import WeightKitFormats
import WeightKitGraph

/// What `validate` checks beyond the format's structure.
public struct ValidationOptions: Sendable {
    /// Warn about values that overflow this dtype when cast to it (`--for-dtype f16`).
    public var forDType: DType?
    /// Weights with |x| beyond this are reported as extreme (default 1e4).
    public var magnitudeLimit: Double = 1e4
    /// Scan every value for NaN, Inf, all-zero and extreme magnitudes.
    public var numerics = true
    /// Compute each tensor's SHA-256 (`--hash`).
    public var computeHashes = false
    /// A manifest to compare against (`--check MANIFEST`).
    public var expected: TensorManifest?

    /// Default options: structure, numerics and graph checks.
    public init() {}
}

/// Checks a weights file or model folder and lists what it finds instead of stopping at the first.
public enum Validator {
    /// Validates `path` (any format; `format` overrides detection).
    ///
    /// - Throws: only when the input cannot be opened at all (missing path, unknown format);
    ///   everything wrong *inside* the input becomes a finding.
    public static func validate(
        path: String, format: TensorFormat? = nil, options: ValidationOptions = ValidationOptions(),
        progress: ((Int, Int) -> Void)? = nil
    ) throws -> ValidationResult {
        let clock = ContinuousClock()
        let started = clock.now
        let resolved = try format ?? FormatDetector.detect(path: path)
        var result = ValidationResult(path: path, format: resolved.rawValue)
        try check(&result, format: resolved, options: options, progress: progress)
        result.seconds = (clock.now - started).seconds
        return result
    }

    /// The checks, in order: pack checksums, structure, per tensor numerics and hashes, graph.
    static func check(
        _ result: inout ValidationResult, format resolved: TensorFormat, options: ValidationOptions,
        progress: ((Int, Int) -> Void)?
    ) throws {
        let path = result.path
        var damaged = Set<String>()
        if resolved == .wkp {
            // The pack carries its own CRC-32s: check them all first (header, tensors, padding).
            let problems = try PackReader.validate(path: path)
            for problem in problems {
                result.findings.append(Self.finding(problem))
                if case .tensor(let name) = problem.place { damaged.insert(name) }
            }
            if problems.first?.place == .header { return }
        }
        let source: any TensorSource
        do {
            source = try FormatRegistry.open(path: path, format: resolved)
        } catch let error as FormatError where error.kind != .cannotOpen && error.kind != .unsupported {
            if resolved != .wkp { result.findings.append(ValidationFinding(.error, .structure, error: error)) }
            return
        }
        result.format = source.formatName
        result.tensors = source.tensors.count
        var hashes = TensorManifest()
        let sizes = source.files.map { ($0, FileIdentity(path: $0)?.size) }
        for (index, tensor) in source.tensors.enumerated() {
            progress?(index, source.tensors.count)
            guard !damaged.contains(tensor.name) else { continue }
            // A file truncated under the mapping would SIGBUS on the next touch: re-check the
            // sizes before each tensor (it narrows the window; it cannot close it).
            if let shrunk = sizes.first(where: { path, size in (FileIdentity(path: path)?.size ?? 0) < (size ?? 0) }) {
                result.findings.append(ValidationFinding(
                    .error, .structure, "\(shrunk.0) shrank while being validated; stopped before reading \"\(tensor.name)\"",
                    kind: FormatError.Kind.truncated.rawValue))
                break
            }
            let storage: TensorStorage
            do {
                storage = try source.storage(of: tensor)
            } catch let error as FormatError {
                result.findings.append(ValidationFinding(.error, .structure, error: error, tensorName: tensor.name))
                continue
            }
            result.bytesChecked += storage.count
            if options.numerics {
                result.findings += try Self.numericFindings(source: source, tensor: tensor, storage: storage, options: options)
            }
            if options.computeHashes || options.expected != nil {
                hashes.append(name: tensor.name, sha256: Self.sha256(storage))
            }
        }
        progress?(source.tensors.count, source.tensors.count)
        if options.computeHashes { result.manifest = hashes }
        if let expected = options.expected { result.findings += expected.compare(with: hashes) }
        let graph = Self.graphFindings(path: path, format: resolved, source: source)
        result.architecture = graph.architecture
        result.findings += graph.findings
    }

    /// The SHA-256 of a tensor's bytes as the reader presents them, in 64 MB steps.
    static func sha256(_ storage: TensorStorage) -> String {
        var hash = SHA256()
        storage.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = min(64 << 20, raw.count - offset)
                hash.update(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + n]))
                offset += n
            }
        }
        return SHA256.hexString(hash.finalize())
    }

    /// A pack problem as a finding: CRC mismatches are integrity errors, the rest structure.
    static func finding(_ problem: PackDamage) -> ValidationFinding {
        var tensorName: String?
        switch problem.place {
        case .tensor(let name): tensorName = name
        case .padding(let name): tensorName = name
        case .header, .tokenizer: break
        }
        let check: ValidationFinding.Check = problem.error.kind == .checksumMismatch ? .integrity : .structure
        return ValidationFinding(.error, check, error: problem.error, tensorName: tensorName)
    }
}
