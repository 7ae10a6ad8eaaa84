import WeightKitCore
import WeightKitFormats

/// The checks every writing operation makes before it starts, so that no call loses data.
public enum OutputCheck {
    /// Refuses outputs that would lose data: any of `inputs` itself (same path, or the same inode
    /// through a hard or symbolic link) even with `overwrite`, and an existing output without it.
    /// An output folder counts as existing when it holds anything.
    ///
    /// - Throws: `ConversionError` `.outputIsInput` or `.outputExists`.
    public static func check(_ output: String, inputs: [String], overwrite: Bool) throws(ConversionError) {
        for input in inputs where sameFile(input, output) {
            throw .outputIsInput(output, input: input)
        }
        if let exists = outputExists(output), exists, !overwrite {
            throw .outputExists(output)
        }
    }

    /// True when both paths name the same inode (calls `stat`).
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        guard let x = FileIdentity(path: a), let y = FileIdentity(path: b) else { return false }
        return x == y
    }

    /// nil when nothing is at `path`; true for a file or a non-empty folder, false for an empty folder.
    public static func outputExists(_ path: String) -> Bool? {
        guard let identity = FileIdentity(path: path) else { return nil }
        guard identity.isDirectory else { return true }
        return !((try? FormatDetector.listDirectory(path)) ?? []).isEmpty
    }
}
