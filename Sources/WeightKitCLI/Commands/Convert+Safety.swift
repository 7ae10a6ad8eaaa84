import ArgumentParser
import WeightKitCore
import WeightKitFormats

extension WeightKitCommand.Convert {
    /// Refuses outputs that would lose data: the input itself (same path, or the same inode
    /// through a hard or symbolic link) even with `--force`, and any existing output without it.
    /// An output folder counts as existing when it holds anything.
    static func checkOutput(_ output: String, inputs: [String], force: Bool) throws {
        for input in inputs where sameFile(input, output) {
            throw ValidationError("'\(output)' is the input '\(input)' (same file); write the output somewhere else")
        }
        if let exists = outputExists(output), exists, !force {
            throw ValidationError("'\(output)' already exists; pass --force to overwrite it")
        }
    }

    /// True when both paths name the same inode (calls `stat`).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        guard let x = FileIdentity(path: a), let y = FileIdentity(path: b) else { return false }
        return x == y
    }

    /// nil when nothing is at `path`; true for a file or a non-empty folder.
    static func outputExists(_ path: String) -> Bool? {
        guard let identity = FileIdentity(path: path) else { return nil }
        guard identity.isDirectory else { return true }
        return !((try? FormatDetector.listDirectory(path)) ?? []).isEmpty
    }
}
