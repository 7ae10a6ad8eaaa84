#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightKitCore

/// Writes safetensors files the way the reference writer does.
///
/// Tensors are laid out widest dtype first, then by name (the crate's `prepare` order, which
/// keeps every tensor aligned to its element width); the header is compact JSON with
/// `__metadata__` first (keys sorted), padded with spaces to a multiple of 8 bytes. Output goes
/// to a temporary file renamed into place when complete.
public enum SafetensorsWriter {
    /// The reference writer's layout order.
    public static func layoutOrder(_ a: TensorInfo, _ b: TensorInfo) -> Bool {
        if a.dtype.safetensorsRank != b.dtype.safetensorsRank { return a.dtype.safetensorsRank > b.dtype.safetensorsRank }
        return a.name < b.name
    }

    /// The padded header bytes (without the 8-byte length) for tensors in layout order.
    public static func header(for tensors: [TensorInfo], metadata: Metadata) -> [UInt8] {
        var json = "{"
        var first = true
        let strings = metadata.stringEntries.sorted { $0.0 < $1.0 }
        if !strings.isEmpty {
            json += "\"__metadata__\":{" + strings.map { JSONWriter.quote($0.0) + ":" + JSONWriter.quote($0.1) }.joined(separator: ",") + "}"
            first = false
        }
        var offset = 0
        for t in tensors {
            if !first { json += "," }
            first = false
            let dims = t.shape.dims.map(String.init).joined(separator: ",")
            json += JSONWriter.quote(t.name) + ":{\"dtype\":\"\(t.dtype.safetensorsName!)\",\"shape\":[\(dims)],\"data_offsets\":[\(offset),\(offset + t.byteCount)]}"
            offset += t.byteCount
        }
        json += "}"
        var bytes = Array(json.utf8)
        let pad = (8 - bytes.count % 8) % 8
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: pad))
        return bytes
    }

    /// Checks names and dtypes before anything is written.
    static func check(_ tensors: [TensorPayload], path: String) throws(FormatError) {
        var seen = Set<String>()
        for t in tensors {
            guard t.info.dtype.safetensorsName != nil else {
                throw FormatError(
                    .unsupportedDType, "safetensors cannot store \(t.info.dtype.shortName) blocks; use --dtype f16 or f32, or write .gguf/.wkp",
                    path: path, tensorName: t.info.name)
            }
            guard t.info.name != "__metadata__" else {
                throw FormatError(.invalidHeader, "a tensor cannot be named __metadata__", path: path, tensorName: t.info.name)
            }
            guard seen.insert(t.info.name).inserted else {
                throw FormatError(.duplicateName, "two tensors would be written with the same name", path: path, tensorName: t.info.name)
            }
        }
    }

    /// Writes one safetensors file at `path`.
    public static func write(
        _ tensors: [TensorPayload], metadata: Metadata, to path: String, options: WriteOptions = WriteOptions()
    ) throws -> WriteReport {
        try check(tensors, path: path)
        let output = try OutputFile(path: path)
        try writeBody(tensors, metadata: metadata, into: output, options: options, done: 0, total: tensors.count)
        try output.commit()
        let dropped = metadata.entries.filter { $0.value.stringValue == nil }.map(\.key)
        return WriteReport(files: [path], bytesWritten: output.written, droppedMetadata: dropped)
    }

    static func writeBody(
        _ tensors: [TensorPayload], metadata: Metadata, into output: OutputFile, options: WriteOptions, done: Int, total: Int
    ) throws {
        let ordered = tensors.sorted { layoutOrder($0.info, $1.info) }
        let header = header(for: ordered.map(\.info), metadata: metadata)
        var length = UInt64(header.count).littleEndian
        try unsafe withUnsafeBytes(of: &length) { try unsafe output.write($0) }
        try output.write(header)
        for (i, tensor) in ordered.enumerated() {
            try unsafe tensor.stream { chunk in try unsafe output.write(chunk) }
            options.progress?(done + i + 1, total)
        }
    }

    /// Writes shards of at most `options.shardSize` bytes of tensor data into `folder`, plus
    /// `model.safetensors.index.json`; a set that fits in one shard is written as
    /// `model.safetensors` alone, as transformers does. All files appear only when all are done.
    public static func writeSharded(
        _ tensors: [TensorPayload], metadata: Metadata, folder: String, options: WriteOptions = WriteOptions()
    ) throws -> WriteReport {
        try check(tensors, path: folder)
        try makeFolder(folder)
        let limit = options.shardSize ?? Int.max
        var shards: [[TensorPayload]] = [[]]
        var size = 0
        for t in tensors {
            if size > 0, size + t.info.byteCount > limit {
                shards.append([])
                size = 0
            }
            shards[shards.count - 1].append(t)
            size += t.info.byteCount
        }
        let names = shards.count == 1
            ? ["model.safetensors"]
            : shards.indices.map { "model-\(pad5($0 + 1))-of-\(pad5(shards.count)).safetensors" }
        var outputs: [OutputFile] = []
        var done = 0
        for (shard, name) in zip(shards, names) {
            let output = try OutputFile(path: joinPath(folder, name))
            try writeBody(shard, metadata: metadata, into: output, options: options, done: done, total: tensors.count)
            done += shard.count
            outputs.append(output)
        }
        var files = names.map { joinPath(folder, $0) }
        var written = outputs.reduce(0) { $0 + $1.written }
        var index: OutputFile?
        if shards.count > 1 {
            var weightMap = JSONObject()
            for (shard, name) in zip(shards, names) {
                for t in shard { weightMap.set(t.info.name, .string(name)) }
            }
            let sortedMap = JSONObject(sortedFrom: weightMap)
            let total = tensors.reduce(0) { $0 + $1.info.byteCount }
            let json: JSONValue = ["metadata": ["total_size": .integer(total)], "weight_map": .object(sortedMap)]
            let file = try OutputFile(path: joinPath(folder, "model.safetensors.index.json"))
            try file.write(JSONWriter.serialize(json, indent: 2) + "\n")
            written += file.written
            files.append(file.path)
            index = file
        }
        for output in outputs { try output.commit() }
        try index?.commit()
        let dropped = metadata.entries.filter { $0.value.stringValue == nil }.map(\.key)
        return WriteReport(files: files, bytesWritten: written, droppedMetadata: dropped)
    }

    static func pad5(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 5 - s.count)) + s
    }

    /// Creates `folder` if it does not exist (calls `mkdir`).
    public static func makeFolder(_ folder: String) throws(FormatError) {
        switch FormatDetector.kind(of: folder) {
        case .directory: return
        case .file: throw .writeFailed(folder, reason: "exists and is not a folder")
        case .missing:
            guard unsafe mkdir(folder, 0o755) == 0 else { throw .writeFailed(folder, reason: errnoDescription()) }
        }
    }
}

extension JSONObject {
    /// A copy with keys sorted.
    init(sortedFrom other: JSONObject) {
        self.init()
        for (k, v) in other.entries.sorted(by: { $0.key < $1.key }) { set(k, v) }
    }
}
