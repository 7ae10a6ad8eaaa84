import WeightKitCore

/// Small UTF-8 text files read whole: tokenizer.json going into a pack, the text `perplexity`
/// scores.
public enum TextFile {
    /// The UTF-8 text of the file at `path`.
    ///
    /// - Throws: `FormatError` `.limitExceeded` above `cap` bytes (checked before reading),
    ///   `.invalidHeader` when the bytes are not valid UTF-8, `.cannotOpen` when it cannot be read.
    public static func read(_ path: String, cap: Int) throws(FormatError) -> String {
        let mapped = try MappedFile(path: path)
        guard mapped.count <= cap else { throw FormatError.limit("file size", value: mapped.count, cap: cap, path: path) }
        let bytes = unsafe mapped.withUnsafeBytes { unsafe Array($0) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw FormatError(.invalidHeader, "file is not valid UTF-8", path: path)
        }
        return text
    }
}
