import ArgumentParser
import WeightKitCore
import WeightKitFormats

extension WeightKitCommand {
    /// `weightkit validate PATH`: is this file sound? The exit code says.
    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check that a weights file or model folder is sound; exit 65 if not.",
            discussion: """
                Every format's structure is checked as it is opened (header, dtypes, shapes, \
                offsets, file size). A WeightKit pack (.wkp) is checked completely: the header \
                CRC-32, every tensor's CRC-32 and the padding between tensors, and each damaged \
                tensor is listed by name.

                Examples:
                  weightkit validate model.wkp
                  weightkit validate ./SmolLM2-135M/ --json
                """)

        @OptionGroup var input: InputOptions

        @Flag(name: .long, help: "Print the report as JSON on stdout.")
        var json = false

        func run() throws {
            var report: ValidationReport?
            try reportingErrors(verbose: input.verbose) {
                report = try ValidationReport.make(path: input.path, format: input.resolvedFormat)
            }
            guard let report else { return }
            Console.out(json ? JSONWriter.serialize(report.json(), indent: 2) : report.text(verbose: input.verbose))
            if !report.problems.isEmpty { throw ExitCode(WeightKitExit.dataError) }
        }
    }
}

/// What `validate` found.
struct ValidationReport {
    var path: String
    var format: String
    var tensors = 0
    var bytesChecked = 0
    var seconds = 0.0
    var problems: [PackDamage] = []

    /// Opens `path` (any format) and checks it; only an unopenable input throws.
    static func make(path: String, format: TensorFormat?) throws -> ValidationReport {
        let started = monotonicSeconds()
        let resolved = try format ?? FormatDetector.detect(path: path)
        var report = ValidationReport(path: path, format: resolved.rawValue)
        if resolved == .wkp {
            let problems = try PackReader.validate(path: path) { done, total in Console.progress("checking", done, total) }
            report.problems = problems
            if problems.first?.place != .header, let pack = try? PackReader(path: path) {
                report.tensors = pack.tensors.count
                report.bytesChecked = pack.file.count
            }
        } else {
            do {
                let source = try FormatRegistry.open(path: path, format: resolved)
                report.format = source.formatName
                report.tensors = source.tensors.count
            } catch let error as FormatError where error.kind != .cannotOpen && error.kind != .unsupported {
                report.problems = [PackDamage(place: .header, error: error)]
            }
        }
        report.seconds = monotonicSeconds() - started
        return report
    }

    func text(verbose: Bool) -> String {
        guard !problems.isEmpty else {
            let checked = bytesChecked > 0 ? ", \(formatBytes(bytesChecked)) checked" : ""
            return "\(path): OK (\(format), \(grouped(tensors)) tensors\(checked) in \(compact(seconds)) s)"
        }
        var lines = ["\(path): DAMAGED (\(problems.count) problem\(problems.count == 1 ? "" : "s"))"]
        for problem in problems {
            var line = "  \(problem)"
            if let offset = problem.error.byteOffset { line += " [byte \(offset)]" }
            if verbose { line += " (\(problem.error.kind.rawValue))" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    func json() -> JSONValue {
        let items: [JSONValue] = problems.map { problem in
            var object = JSONObject()
            switch problem.place {
            case .header: object.set("place", "header")
            case .tensor(let name):
                object.set("place", "tensor")
                object.set("tensor", .string(name))
            case .tokenizer: object.set("place", "tokenizer")
            case .padding(let name):
                object.set("place", "padding")
                object.set("after", .string(name))
            }
            object.set("kind", .string(problem.error.kind.rawValue))
            object.set("message", .string(problem.error.message))
            object.set("byte_offset", problem.error.byteOffset.map { .integer($0) } ?? .null)
            return .object(object)
        }
        return [
            "path": .string(path), "format": .string(format), "ok": .bool(problems.isEmpty),
            "tensors": .integer(tensors), "bytes_checked": .integer(bytesChecked),
            "seconds": .double(seconds), "problems": .array(items),
        ]
    }
}
