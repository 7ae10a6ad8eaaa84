import WeightKitCore

/// Writes a folder of `.npy` files, one per tensor (`wte` → `folder/wte.npy`).
///
/// Each file appears complete or not at all (temporary file + rename), committed as soon as it
/// is written so a model with thousands of tensors does not hold thousands of descriptors open;
/// names and dtypes are all checked before the first file is written.
public enum NPYFolderWriter {
    /// Checks that `name` can be a file name inside the folder: not empty, no `/` (so no
    /// absolute paths and no `..` escapes), not `.` or `..`, no NUL.
    static func checkName(_ name: String, folder: String) throws(FormatError) {
        let problem: String?
        if name.isEmpty { problem = "an empty name" }
        else if name.hasPrefix("/") { problem = "an absolute path" }
        else if name.split(separator: "/", omittingEmptySubsequences: false).contains("..") || name == "." {
            problem = "a '..' path component"
        } else if name.contains("/") { problem = "a '/' (sub-folders are not written)" }
        else if name.contains("\0") { problem = "a NUL byte" }
        else { problem = nil }
        if let problem {
            throw FormatError(
                .invalidHeader, "tensor name \"\(name)\" cannot be a file name in the folder: it has \(problem)",
                path: folder, tensorName: name)
        }
    }

    /// Writes every tensor to `folder/NAME.npy`, creating the folder if needed.
    public static func write(
        _ tensors: [TensorPayload], metadata: Metadata, folder: String, options: WriteOptions = WriteOptions()
    ) throws -> WriteReport {
        var seen = Set<String>()
        for t in tensors {
            try checkName(t.info.name, folder: folder)
            try NPYWriter.check(t.info, path: folder, format: "npy")
            guard seen.insert(t.info.name).inserted else {
                throw FormatError(.duplicateName, "two tensors would be written to the same file", path: folder, tensorName: t.info.name)
            }
        }
        try SafetensorsWriter.makeFolder(folder)
        var files: [String] = []
        var written = 0
        for (i, t) in tensors.enumerated() {
            let output = try OutputFile(path: joinPath(folder, t.info.name + ".npy"))
            try NPYWriter.writeArray(t, into: output)
            try output.commit()
            files.append(output.path)
            written += output.written
            options.progress?(i + 1, tensors.count)
        }
        return WriteReport(files: files, bytesWritten: written, droppedMetadata: metadata.entries.map(\.key))
    }
}
