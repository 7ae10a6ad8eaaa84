import WeightKitCore

/// Writes WeightKit packs (`docs/FORMAT.md`), streaming one tensor at a time.
///
/// The header comes first in the file but holds CRCs known only after the data is written, so
/// the writer reserves room for it: it serializes the header with the largest values the
/// tensors can produce (raw lengths and offsets, CRC 4294967295), rounds `24 + that` up to 64
/// bytes, writes zeros there, streams the sections, then fills the real header in (padded with
/// spaces to the same length) and renames the temporary file into place. Memory stays bounded
/// by one tensor (only `--compress` holds a tensor's compressed bytes while it decides whether
/// deflate pays).
public enum PackWriter {
    /// The `producer` string written into packs.
    public static let producer = "weightkit"
    /// Bytes CRC'd and written per step, so the data is still in cache when it is written.
    static let stepBytes = 1 << 20
    /// zlib level for `--compress` (its default, 6).
    static let deflateLevel: Int32 = 6

    /// Writes `tensors` with `metadata`, and `options.config`/`options.tokenizerJSON`, to `path`.
    public static func write(
        _ tensors: [TensorPayload], metadata: Metadata, to path: String, options: WriteOptions = WriteOptions()
    ) throws -> WriteReport {
        try check(tensors, options: options, path: path)
        let tokenizer = options.tokenizerJSON.map { Array($0.utf8) }
        let strings = Metadata(strings: metadata.stringEntries)
        let dropped = metadata.entries.filter { $0.value.stringValue == nil }.map(\.key)
        var plan = PackPlan(config: options.config, metadata: strings)
        // Reserve the header with worst-case values: compressed sections only get shorter.
        var offset = 0
        for t in tensors {
            plan.tensors.append((t.info, PackSection(offset: offset, length: t.info.byteCount, rawLength: t.info.byteCount,
                encoding: options.compress ? .deflate : .raw, crc32: .max)))
            offset = PackPlan.align(offset + t.info.byteCount)
        }
        if let tokenizer {
            plan.tokenizer = PackSection(offset: offset, length: tokenizer.count, rawLength: tokenizer.count,
                encoding: options.compress ? .deflate : .raw, crc32: .max)
        }
        let dataStart = PackPlan.align(PackHeader.prefixBytes + plan.headerJSON().count)
        let output = try OutputFile(path: path)
        try output.writeZeros(dataStart)
        for (i, t) in tensors.enumerated() {
            // Sections start 64-byte aligned; the file ends at the last section's end.
            try output.writeZeros(PackPlan.align(output.written) - output.written)
            let section = try unsafe writeSection(output, dataStart: dataStart, rawLength: t.info.byteCount, compress: options.compress) { sink in
                try unsafe t.stream(sink)
            }
            guard section.rawLength == t.info.byteCount else {
                throw FormatError(
                    .sizeMismatch, "the source gave \(section.rawLength) bytes, \(t.info.byteCount) expected",
                    path: t.source.files.first, tensorName: t.info.name)
            }
            plan.tensors[i] = (t.info, section)
            options.progress?(i + 1, tensors.count)
        }
        if let tokenizer {
            try output.writeZeros(PackPlan.align(output.written) - output.written)
            plan.tokenizer = try unsafe writeSection(output, dataStart: dataStart, rawLength: tokenizer.count, compress: options.compress) { sink in
                try unsafe tokenizer.withUnsafeBytes { try unsafe sink($0) }
            }
        }
        try output.overwrite(plan.headerBytes(dataStart: dataStart), at: 0)
        try output.commit()
        return WriteReport(files: [path], bytesWritten: output.written, droppedMetadata: dropped)
    }

    /// Refuses what a pack cannot hold, before anything is written.
    static func check(_ tensors: [TensorPayload], options: WriteOptions, path: String) throws(FormatError) {
        var seen = Set<String>()
        for t in tensors {
            let name = t.info.name
            guard !name.isEmpty, name.utf8.count <= PackHeader.maxNameBytes else {
                throw FormatError(.limitExceeded, "a pack tensor name must have 1 to \(PackHeader.maxNameBytes) UTF-8 bytes", path: path, tensorName: name)
            }
            guard seen.insert(name).inserted else {
                throw FormatError(.duplicateName, "two tensors would be written with the same name", path: path, tensorName: name)
            }
            guard t.info.shape.rank <= PackHeader.maxRank else {
                throw .limit("rank", value: t.info.shape.rank, cap: PackHeader.maxRank, path: path)
            }
            if t.info.dtype.isQuantized, t.info.shape.rank == 0 || t.info.shape.dims.last! % t.info.dtype.blockElements != 0 {
                throw FormatError(
                    .shapeMismatch, "\(t.info.dtype.shortName) needs an innermost dimension that is a multiple of \(t.info.dtype.blockElements), found \(t.info.shape)",
                    path: path, tensorName: name)
            }
        }
        guard tensors.count <= PackHeader.maxTensors else {
            throw .limit("tensor count", value: tensors.count, cap: PackHeader.maxTensors, path: path)
        }
        if let text = options.tokenizerJSON, text.utf8.count > PackHeader.maxTokenizerBytes {
            throw .limit("tokenizer size", value: text.utf8.count, cap: PackHeader.maxTokenizerBytes, path: path)
        }
    }

    /// Writes one section at the current (aligned) position; returns where it went.
    static func writeSection(
        _ output: OutputFile, dataStart: Int, rawLength: Int, compress: Bool,
        _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> PackSection {
        if compress, let section = try unsafe writeDeflated(output, dataStart: dataStart, rawLength: rawLength, produce) {
            return section
        }
        let start = output.written
        var crc: UInt32 = 0
        try unsafe produce { chunk in
            var done = 0
            while done < chunk.count {
                let step = unsafe UnsafeRawBufferPointer(rebasing: chunk[done..<min(chunk.count, done + stepBytes)])
                crc = unsafe CRC32.update(crc, step)
                try unsafe output.write(step)
                done += step.count
            }
        }
        let length = output.written - start
        return PackSection(offset: start - dataStart, length: length, rawLength: length, encoding: .raw, crc32: crc)
    }

    /// Deflates a section into memory and writes it if that made it smaller; nil otherwise
    /// (nothing written), so the caller writes it raw.
    static func writeDeflated(
        _ output: OutputFile, dataStart: Int, rawLength: Int,
        _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> PackSection? {
        struct DoesNotShrink: Error {}
        var crc: UInt32 = 0
        var streamed = 0
        guard rawLength > 1 else { return nil }
        let buffer = AlignedBuffer(count: rawLength - 1)
        var compressor = try ZlibStream.Compressor(level: deflateLevel, output: buffer)
        do {
            try unsafe produce { chunk in
                crc = unsafe CRC32.update(crc, chunk)
                streamed += chunk.count
                guard unsafe compressor.compress(chunk) else { throw DoesNotShrink() }
            }
            guard compressor.finish() else { return nil }
        } catch is DoesNotShrink {
            return nil
        }
        guard streamed == rawLength else { return nil }
        let size = compressor.produced
        let start = output.written
        try unsafe buffer.withUnsafeBytes { raw throws(FormatError) in try unsafe output.write(UnsafeRawBufferPointer(rebasing: raw[0..<size])) }
        return PackSection(offset: start - dataStart, length: size, rawLength: rawLength, encoding: .deflate, crc32: crc)
    }
}
