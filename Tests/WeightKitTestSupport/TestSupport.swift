// Shared helpers for WeightKit's test targets: fixture paths, per-test temporary folders,
// and running the Python reference tools (numpy, safetensors, gguf, tokenizers).
import Foundation

/// The repository root (found from this file's location).
public let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// Absolute path of a committed fixture: `fixture("safetensors/all_dtypes.safetensors")`.
public func fixture(_ relative: String) -> String {
    repositoryRoot + "/fixtures/" + relative
}

/// A fresh temporary folder for one test, removed when the value is released.
public final class TemporaryFolder: @unchecked Sendable {
    /// The folder's path (no trailing slash).
    public let path: String

    /// Creates `/tmp/weightkit-test-XXXXXX`.
    public init() {
        var template = Array("/tmp/weightkit-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// `path/name`.
    public func file(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// What a child process did.
public struct ProcessResult: Sendable {
    /// Exit status.
    public var status: Int32
    /// Everything written to stdout.
    public var stdout: String
    /// Everything written to stderr.
    public var stderr: String
}

/// Runs `executable` with `arguments`, capturing output (stdin is empty).
public func run(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, currentDirectory: String? = nil
) throws -> ProcessResult {
    let process = Process()
    if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        errData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// The Python interpreter used for reference checks (`WEIGHTKIT_PYTHON` overrides).
public let pythonExecutable: String = {
    if let override = ProcessInfo.processInfo.environment["WEIGHTKIT_PYTHON"] { return override }
    for candidate in ["/usr/local/bin/python3", "/usr/bin/python3"] where FileManager.default.isExecutableFile(atPath: candidate) {
        if candidate == "/usr/bin/python3", let which = try? run("/usr/bin/env", ["which", "python3"]), which.status == 0 {
            return which.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return candidate
    }
    return (try? run("/usr/bin/env", ["which", "python3"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? "python3"
}()

/// Runs a Python snippet with `args` in `sys.argv[1:]`; returns stdout. Throws with stderr on failure.
public func python(_ script: String, _ args: [String] = []) throws -> String {
    let result = try run(pythonExecutable, ["-c", script] + args)
    guard result.status == 0 else {
        throw PythonError(message: "python exited \(result.status): \(result.stderr)")
    }
    return result.stdout
}

/// A failed Python reference run.
public struct PythonError: Error, CustomStringConvertible {
    /// What Python printed on stderr.
    public var message: String
    public var description: String { message }
}

/// Path of the built `weightkit` binary next to the test bundle.
public let weightkitBinary: String = {
    var url = Bundle.main.bundleURL
    for candidate in [url.path + "/weightkit", url.deletingLastPathComponent().path + "/weightkit"] {
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    url = URL(fileURLWithPath: repositoryRoot + "/.build/debug/weightkit")
    return url.path
}()

/// Runs the built `weightkit` binary from the repository root.
public func weightkit(_ arguments: String...) throws -> ProcessResult {
    try run(weightkitBinary, arguments, currentDirectory: repositoryRoot)
}

/// Runs the built `weightkit` binary from the repository root.
public func weightkit(_ arguments: [String]) throws -> ProcessResult {
    try run(weightkitBinary, arguments, currentDirectory: repositoryRoot)
}

/// Writes `bytes` to `path`.
public func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Reads the whole file at `path`.
public func readBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}
