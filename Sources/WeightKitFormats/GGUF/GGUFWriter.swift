import WeightKitCore

/// Writes GGUF v3 files that llama.cpp loads: metadata with exact types, tensor infos with
/// innermost-first dims, tensor data aligned to 32 bytes.
///
/// Output goes to a temporary file renamed into place when complete (`OutputFile`).
public enum GGUFWriter {
    /// Alignment of the data section and of each tensor (GGUF's default; `general.alignment`
    /// is therefore not written).
    public static let alignment = 32

    /// Writes `tensors` with Core `metadata`, typing values the way llama.cpp reads them
    /// (`GGUFValue.init(_:)`); `typedHints` gives exact types for keys whose value is unchanged
    /// (GGUF → GGUF keeps u64, f64 and friends).
    public static func write(
        _ tensors: [TensorPayload], metadata: Metadata, typedHints: [String: GGUFValue] = [:], to path: String,
        options: WriteOptions = WriteOptions()
    ) throws -> WriteReport {
        var typed: [(String, GGUFValue)] = []
        var dropped: [String] = []
        for (key, value) in metadata.entries where key != "general.alignment" {
            if let hint = typedHints[key], hint.metadataValue == value {
                typed.append((key, hint))
            } else if let v = GGUFValue(value) {
                typed.append((key, v))
            } else {
                dropped.append(key)
            }
        }
        if tensors.contains(where: { $0.info.dtype.isQuantized }), metadata["general.quantization_version"] == nil {
            typed.append(("general.quantization_version", .uint32(2)))
        }
        var report = try write(tensors, typedMetadata: typed, to: path, options: options)
        report.droppedMetadata = dropped
        return report
    }

    /// Writes `tensors` with metadata of exact GGUF types, in the order given; with
    /// `options.shardSize` or `options.shardMaxTensors`, a `llama-gguf-split` shard set
    /// (`GGUFWriter+Shards.swift`).
    public static func write(
        _ tensors: [TensorPayload], typedMetadata: [(String, GGUFValue)], to path: String,
        options: WriteOptions = WriteOptions()
    ) throws -> WriteReport {
        if let limit = try GGUFShardLimit(options, path: path) {
            return try writeSharded(tensors, typedMetadata: typedMetadata, to: path, limit: limit, options: options)
        }
        let output = try OutputFile(path: path)
        try writeFile(tensors, typedMetadata: typedMetadata, into: output, options: options, done: 0, total: tensors.count)
        try output.commit()
        return WriteReport(files: [path], bytesWritten: output.written)
    }

    /// Header and tensor data of one GGUF file into `output` (not committed).
    static func writeFile(
        _ tensors: [TensorPayload], typedMetadata: [(String, GGUFValue)], into output: OutputFile, options: WriteOptions,
        done: Int, total: Int
    ) throws {
        let path = output.path
        var header = GGUFBytes()
        header.append(GGUFFile.magic)
        header.append(UInt32(3))
        header.append(UInt64(tensors.count))
        header.append(UInt64(typedMetadata.count))
        var keys = Set<String>()
        for (key, value) in typedMetadata {
            guard keys.insert(key).inserted else {
                throw FormatError(.duplicateName, "metadata key \"\(key)\" given twice", path: path)
            }
            header.append(string: key)
            header.append(UInt32(value.type.rawValue))
            header.append(value: value)
        }
        let offsets = try tensorInfos(tensors, into: &header, path: path)
        header.pad(to: alignment)
        try output.write(header.bytes)
        for (i, tensor) in tensors.enumerated() {
            let start = output.written
            // SAFETY: stream hands a chunk valid for the duration of the call; write copies it out.
            try unsafe tensor.stream { chunk in try unsafe output.write(chunk) }
            guard output.written - start == tensor.info.byteCount else {
                throw FormatError(
                    .sizeMismatch, "produced \(output.written - start) bytes, expected \(tensor.info.byteCount)",
                    path: path, tensorName: tensor.info.name)
            }
            // Every tensor's data is padded to the alignment, the last one too: ggml's reader
            // reads the data section as the sum of padded sizes ("failed to read tensor data
            // binary blob" otherwise), and gguf_write_to_file and gguf-py write it so.
            let end = i + 1 < tensors.count ? offsets[i + 1] : (offsets[i] + tensor.info.byteCount + alignment - 1) / alignment * alignment
            try output.writeZeros(header.bytes.count + end - output.written)
            options.progress?(done + i + 1, total)
        }
    }

    /// Appends the tensor infos; returns each tensor's data offset relative to the data section.
    static func tensorInfos(_ tensors: [TensorPayload], into header: inout GGUFBytes, path: String) throws(FormatError) -> [Int] {
        var names = Set<String>()
        var offsets: [Int] = []
        var offset = 0
        for t in tensors {
            let info = t.info
            guard names.insert(info.name).inserted else {
                throw FormatError(.duplicateName, "two tensors would be written with the same name", path: path, tensorName: info.name)
            }
            guard GGMLType.storable.contains(info.dtype), let code = GGMLType.code(of: info.dtype) else {
                throw FormatError(
                    .unsupportedDType, "GGUF output holds f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K…q6_K, iq4_nl or iq4_xs, not \(info.dtype.shortName)",
                    path: path, tensorName: info.name)
            }
            guard info.shape.rank <= GGUFFile.maxDims else {
                throw FormatError(.shapeMismatch, "GGUF tensors have at most 4 dims, shape is \(info.shape)", path: path, tensorName: info.name)
            }
            let rowLength = info.shape.dims.last ?? 1
            guard rowLength % info.dtype.blockElements == 0 else {
                throw FormatError(
                    .shapeMismatch, "row length \(rowLength) is not a multiple of \(info.dtype.shortName)'s block of \(info.dtype.blockElements)",
                    path: path, tensorName: info.name)
            }
            header.append(string: info.name)
            header.append(UInt32(info.shape.rank))
            for d in info.shape.dims.reversed() { header.append(UInt64(d)) }
            header.append(code)
            header.append(UInt64(offset))
            offsets.append(offset)
            offset += (info.byteCount + alignment - 1) / alignment * alignment
        }
        return offsets
    }
}

/// A growing little-endian byte buffer for the GGUF header.
struct GGUFBytes {
    var bytes: [UInt8] = []

    mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }

    mutating func append<T: FixedWidthInteger>(_ v: T) {
        // SAFETY: the buffer is v's own bytes, read only inside the closure.
        unsafe withUnsafeBytes(of: v.littleEndian) { unsafe bytes.append(contentsOf: $0) }
    }

    mutating func append(string s: String) {
        let utf8 = Array(s.utf8)
        append(UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func pad(to alignment: Int) {
        bytes.append(contentsOf: repeatElement(0, count: (alignment - bytes.count % alignment) % alignment))
    }

    mutating func append(value: GGUFValue) {
        switch value {
        case .uint8(let v): append(v)
        case .int8(let v): append(v)
        case .uint16(let v): append(v)
        case .int16(let v): append(v)
        case .uint32(let v): append(v)
        case .int32(let v): append(v)
        case .uint64(let v): append(v)
        case .int64(let v): append(v)
        case .float32(let v): append(v.bitPattern)
        case .float64(let v): append(v.bitPattern)
        case .bool(let v): append(UInt8(v ? 1 : 0))
        case .string(let s): append(string: s)
        case .array(let type, let items):
            append(type.rawValue)
            append(UInt64(items.count))
            for item in items { append(value: item) }
        }
    }
}
