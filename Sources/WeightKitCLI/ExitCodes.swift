import ArgumentParser
import WeightKit
import WeightKitCore
import WeightKitTokenizer

/// Exit codes (sysexits, matching argument-parser's 64 for usage errors).
public enum WeightKitExit {
    /// Success.
    public static let ok: Int32 = 0
    /// Any failure not listed below.
    public static let failure: Int32 = 1
    /// Bad command line (`ValidationError`).
    public static let usage: Int32 = 64
    /// Invalid or corrupt input (`FormatError`).
    public static let dataError: Int32 = 65
    /// The input cannot be opened.
    public static let noInput: Int32 = 66
    /// Writing the output failed.
    public static let ioError: Int32 = 74

    /// The exit code for `error`.
    public static func code(for error: any Error) -> Int32 {
        if let error = error as? FormatError {
            switch error.kind {
            case .cannotOpen: return noInput
            case .writeFailed, .readFailed: return ioError
            default: return dataError
            }
        }
        if let error = error as? TokenizerError { return error.kind == .cannotOpen ? noInput : dataError }
        // A request that cannot be met (output is the input, output exists) is a usage error.
        if error is ValidationError || error is ConversionError { return usage }
        // A model whose tensors do not fit its architecture is an invalid model.
        if error is GraphError { return dataError }
        // A model whose numbers went NaN or infinite, or whose graph does not match its config,
        // is invalid data; context overflow and token ids outside the vocabulary are requests
        // that do not fit the model.
        if let error = error as? RuntimeError {
            return error.kind == .nonFinite || error.kind == .invalidModel ? dataError : usage
        }
        return failure
    }
}

/// Runs a command body with `--quiet` applied; on error prints it once to stderr and exits with
/// its mapped code.
func reportingErrors(verbose: Bool = false, quiet: Bool = false, _ body: () throws -> Void) throws {
    Console.quiet = quiet
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch let error as ValidationError {
        throw error
    } catch let error as ConversionError {
        // Printed by argument-parser with the command's usage, as the flag checks are.
        throw ValidationError(error.message)
    } catch {
        var line = "weightkit: error: \(error)"
        if verbose, let formatError = error as? FormatError {
            line += "\n  kind: \(formatError.kind.rawValue), raised at \(formatError.location)"
        }
        Console.error(line)
        throw ExitCode(WeightKitExit.code(for: error))
    }
}
