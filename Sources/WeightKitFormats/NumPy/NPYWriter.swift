import WeightKitCore

/// Writes `.npy` files byte-for-byte as `numpy.save` does: format 1.0 (2.0 when the header
/// does not fit a u16 length), the dict keys sorted, numpy's spare space for a growing first
/// axis, and padding so the data starts on a 64-byte boundary.
public enum NPYWriter {
    /// numpy's `GROWTH_AXIS_MAX_DIGITS`: header space reserved so the growth axis can reach 21 digits.
    static let growthAxisMaxDigits = 21
    /// numpy's `ARRAY_ALIGN`.
    static let alignment = 64

    /// The complete header (magic, version, length, padded dict) for a C-ordered
    /// little-endian array of `dtype` and `shape`.
    public static func header(dtype: DType, shape: Shape) -> [UInt8] {
        let descr = NPYDescr.descr(for: dtype) ?? "?"
        let dims = shape.dims.map(String.init)
        let shapeText = dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        if let first = dims.first { dict += String(repeating: " ", count: max(0, growthAxisMaxDigits - first.count)) }
        var text = Array(dict.utf8)
        for (major, lengthBytes) in [(UInt8(1), 2), (UInt8(2), 4)] {
            let hlen = text.count + 1
            let pad = alignment - ((8 + lengthBytes + hlen) % alignment)
            let total = hlen + pad
            guard lengthBytes == 4 || total <= Int(UInt16.max) else { continue }
            var out = NPYHeader.magic + [major, 0]
            for i in 0..<lengthBytes { out.append(UInt8(truncatingIfNeeded: total >> (8 * i))) }
            text += [UInt8](repeating: 0x20, count: pad)
            text.append(0x0A)
            return out + text
        }
        preconditionFailure("unreachable: a version 2.0 header always fits")
    }

    /// Refuses dtypes numpy has no type for, suggesting a cast.
    static func check(_ info: TensorInfo, path: String, format: String) throws(FormatError) {
        guard NPYDescr.descr(for: info.dtype) != nil else {
            throw FormatError(
                .unsupportedDType,
                "\(format) cannot store \(info.dtype.shortName) (numpy has no such dtype); pass --dtype f32 or --dtype f16 to cast",
                path: path, tensorName: info.name)
        }
    }

    /// Writes the one tensor in `tensors` to `path`; metadata cannot be stored and is reported
    /// as dropped.
    public static func write(
        _ tensors: [TensorPayload], metadata: Metadata, to path: String, options: WriteOptions = WriteOptions()
    ) throws -> WriteReport {
        guard tensors.count == 1 else {
            throw FormatError(
                .unsupported,
                "a .npy file holds one tensor, but there are \(tensors.count); pick one with --tensor NAME or write .npz",
                path: path)
        }
        let tensor = tensors[0]
        try check(tensor.info, path: path, format: "npy")
        let output = try OutputFile(path: path)
        try writeArray(tensor, into: output)
        try output.commit()
        options.progress?(1, 1)
        return WriteReport(files: [path], bytesWritten: output.written, droppedMetadata: metadata.entries.map(\.key))
    }

    /// Writes header and data of `tensor` to `output`.
    static func writeArray(_ tensor: TensorPayload, into output: OutputFile) throws {
        try output.write(header(dtype: tensor.info.dtype, shape: tensor.info.shape))
        try unsafe tensor.stream { chunk in try unsafe output.write(chunk) }
    }
}
