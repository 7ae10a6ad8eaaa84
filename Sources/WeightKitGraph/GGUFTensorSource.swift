import WeightKitCore

/// The tensors of a GGUF ↔ Hugging Face conversion: each output is one input after its
/// `TensorTransform` steps, a row range of one (an expert of a stacked GGUF tensor, a zero-copy
/// view), several stacked along a new outer dimension (experts into one GGUF tensor), or values
/// computed from the config (llama.cpp's `rope_freqs`, Phi-3's `rope_factors_*`); optionally
/// with a constant added to every element (Gemma's norms, which GGUF stores as 1 + w).
public final class GGUFTensorSource: TensorSource {
    /// Where an output's bytes come from.
    public enum Part: Sendable {
        /// Rows `rows` (all when nil) of an input after the inner steps, by input name; rows are
        /// counted over every dimension but the last.
        case input(String, rows: Range<Int>?)
        /// f32 values.
        case values([Float])
    }

    /// One output tensor.
    public struct Entry: Sendable {
        /// The tensor as this source presents it.
        public var output: TensorInfo
        /// Its parts, concatenated in order.
        public var parts: [Part]
        /// Added to every element (0: none); the output is then f32.
        public var addend: Float
    }

    /// Inputs after their per-tensor steps (dequantize, permute, transpose), by input name.
    let inner: TransformedTensorSource
    /// Outputs, in order.
    public let entries: [Entry]
    private let byName: [String: Int]

    /// A source over `inner`'s tensors presenting `entries`.
    init(inner: TransformedTensorSource, entries: [Entry]) {
        self.inner = inner
        self.entries = entries
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() { index[e.output.name] = i }
        byName = index
    }

    /// The format of the base source.
    public var formatName: String { inner.formatName }
    /// The base source's files.
    public var files: [String] { inner.files }
    /// Output tensors.
    public var tensors: [TensorInfo] { entries.map(\.output) }
    /// The base source's metadata.
    public var metadata: Metadata { inner.metadata }

    /// The bytes of `tensor`: a view when it is one input's rows, else a new buffer.
    public func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard let i = byName[tensor.name] else {
            throw FormatError(.tensorNotFound, "no tensor named \"\(tensor.name)\"", path: files.first, tensorName: tensor.name)
        }
        let entry = entries[i]
        var pieces: [(TensorStorage, DType)] = []
        for part in entry.parts {
            switch part {
            case .input(let name, let rows):
                guard let info = inner.tensor(named: name) else {
                    throw FormatError(.tensorNotFound, "no input tensor named \"\(name)\"", path: files.first, tensorName: name)
                }
                var storage = try inner.storage(of: info)
                // Rows count over every dimension but the last ([experts, rows, columns]: experts·rows).
                let total = info.shape.dims.dropLast().reduce(1, *)
                if let rows, total > 0 {
                    let rowBytes = storage.count / total
                    storage = storage.slice(rows.lowerBound * rowBytes..<rows.upperBound * rowBytes)
                }
                pieces.append((storage, info.dtype))
            case .values(let values):
                pieces.append((TensorStorage(buffer: AlignedBuffer(values.withUnsafeBytes { Array($0) })), .float32))
            }
        }
        if pieces.count == 1, entry.addend == 0 { return pieces[0].0 }
        let total = pieces.reduce(0) { $0 + ($1.1 == .float32 || entry.addend == 0 ? $1.0.count : $1.0.count / $1.1.blockBytes * 4) }
        let out = AlignedBuffer(count: total)
        unsafe out.withUnsafeMutableBytes { dst in
            var offset = 0
            for (storage, dtype) in pieces {
                unsafe storage.withUnsafeBytes { src in
                    if entry.addend == 0 || dtype == .float32 {
                        // SAFETY: total is the sum of the pieces' sizes, so each lands inside dst.
                        unsafe (dst.baseAddress! + offset).copyMemory(from: src.baseAddress!, byteCount: src.count)
                        offset += src.count
                    } else {
                        let count = src.count / dtype.blockBytes
                        // SAFETY: count elements of dtype in src; count floats fit at offset in dst.
                        unsafe ElementConversion.decodeToFloat32(src.baseAddress!, from: dtype, into: dst.baseAddress! + offset, count: count)
                        offset += count * 4
                    }
                }
            }
            if entry.addend != 0 {
                // SAFETY: dst is 64-byte aligned and holds total / 4 floats.
                let floats = unsafe dst.baseAddress!.assumingMemoryBound(to: Float.self)
                for k in 0..<total / 4 { unsafe floats[k] += entry.addend }
            }
        }
        // The inputs were copied: their mapped pages leave the resident set.
        for (storage, _) in pieces { storage.releaseResidentPages() }
        return TensorStorage(buffer: out)
    }
}
