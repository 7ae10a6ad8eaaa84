import WeightKitCore

/// Writes `.npz` archives that `numpy.load` reads: one `NAME.npy` member per tensor, stored
/// (data 64-byte aligned in the archive) or deflated with `options.compress`, zip64 when needed.
/// Metadata has no place in an npz and is reported as dropped.
public enum NPZWriter {
    /// Writes `tensors` to `path`.
    public static func write(
        _ tensors: [TensorPayload], metadata: Metadata, to path: String, options: WriteOptions = WriteOptions()
    ) throws -> WriteReport {
        try write(tensors, metadata: metadata, to: path, options: options, forceZip64: false)
    }

    /// Writes `tensors` to `path`; `forceZip64` writes zip64 fields and records even when no
    /// size needs them (to test readers on small files).
    static func write(
        _ tensors: [TensorPayload], metadata: Metadata, to path: String, options: WriteOptions, forceZip64: Bool
    ) throws -> WriteReport {
        var seen = Set<String>()
        for t in tensors {
            try NPYWriter.check(t.info, path: path, format: "npz")
            guard seen.insert(t.info.name).inserted else {
                throw FormatError(.duplicateName, "two tensors would be written with the same name", path: path, tensorName: t.info.name)
            }
        }
        let output = try OutputFile(path: path)
        var zip = ZipWriter(output: output, forceZip64: forceZip64)
        for (i, t) in tensors.enumerated() {
            let header = NPYWriter.header(dtype: t.info.dtype, shape: t.info.shape)
            let body: ZipWriter.Body = { sink in
                try unsafe header.withUnsafeBytes { try unsafe sink($0) }
                try unsafe t.stream(sink)
            }
            let name = t.info.name + ".npy"
            if options.compress {
                try unsafe zip.addDeflated(name: name, size: header.count + t.info.byteCount, body: body)
            } else {
                try unsafe zip.addStored(name: name, size: header.count + t.info.byteCount, body: body)
            }
            options.progress?(i + 1, tensors.count)
        }
        try zip.finish()
        try output.commit()
        return WriteReport(files: [path], bytesWritten: output.written, droppedMetadata: metadata.entries.map(\.key))
    }
}
