import WeightKitCore
import WeightKitQuantize

/// What `Quantizer.quantize` did, per tensor and in total.
public struct QuantizationReport: Sendable {
    /// One output tensor.
    public struct Row: Sendable {
        /// The tensor's name in the output.
        public var name: String
        /// Its dtype before quantization.
        public var from: DType
        /// Its dtype in the output.
        public var to: DType
        /// Its bytes before quantization.
        public var bytesBefore: Int
        /// Its bytes in the output.
        public var bytesAfter: Int
        /// The quantization error; nil for tensors kept in float.
        public var stats: QuantErrorStats?
        /// Why a llama-quantize mix gave it this type (nil without a mix).
        public var reason: String?
    }

    /// The output path.
    public var output: String
    /// The files written: `output`, or the shards of a sharded .gguf.
    public var files: [String] = []
    /// Every output tensor, in output order.
    public var rows: [Row]
    /// Values written, over all tensors.
    public var elements: Int
    /// Bytes of the output file.
    public var bytesWritten: Int
    /// Wall-clock seconds, reading and planning included.
    public var seconds: Double
    /// What could not be carried over (GGUF names, tokenizer keys).
    public var warnings: [ConversionWarning]

    /// The report for `payloads` written from `input`, with the error `stats` of the quantized
    /// ones; `origins` maps an output name to its input tensor's name when they differ (a GGUF's
    /// tensors in a pack): an expert cut from a stacked tensor gets its share of the bytes and
    /// the whole tensor's error.
    init(
        output: String, input: any TensorSource, payloads: [TensorPayload], stats: [String: QuantErrorStats], bytesWritten: Int,
        seconds: Double, warnings: [ConversionWarning], reasons: [String: String] = [:], origins: [String: String] = [:]
    ) {
        let inputs = Dictionary(input.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        rows = payloads.map { p in
            let key = origins[p.info.name] ?? p.info.name
            let before = inputs[key]
            return Row(
                name: p.info.name, from: before?.dtype ?? p.info.dtype, to: p.info.dtype,
                bytesBefore: before.map { Self.share(of: $0, elements: p.info.elementCount) } ?? p.info.byteCount,
                bytesAfter: p.info.byteCount, stats: stats[key], reason: reasons[key])
        }
        elements = payloads.reduce(0) { $0 + $1.info.elementCount }
        self.output = output
        self.bytesWritten = bytesWritten
        self.seconds = seconds
        self.warnings = warnings
    }

    /// The bytes of `elements` of `tensor`'s values (all of them but for an expert of a stacked tensor).
    static func share(of tensor: TensorInfo, elements: Int) -> Int {
        tensor.elementCount == elements || tensor.elementCount == 0 ? tensor.byteCount : tensor.byteCount * elements / tensor.elementCount
    }

    /// A report from rows already made (a dry run).
    init(output: String, rows: [Row], elements: Int, bytesWritten: Int, seconds: Double, warnings: [ConversionWarning]) {
        self.output = output
        self.rows = rows
        self.elements = elements
        self.bytesWritten = bytesWritten
        self.seconds = seconds
        self.warnings = warnings
    }

    /// Tensor bytes before quantization.
    public var bytesBefore: Int { rows.reduce(0) { $0 + $1.bytesBefore } }
    /// Tensor bytes in the output.
    public var bytesAfter: Int { rows.reduce(0) { $0 + $1.bytesAfter } }
    /// How many tensors were quantized (the others were kept in float).
    public var quantizedCount: Int { rows.filter { $0.stats != nil }.count }
    /// Output bits per value, over all tensors.
    public var bitsPerWeight: Double { elements == 0 ? 0 : Double(bytesAfter * 8) / Double(elements) }
    /// Input MB/s (10⁶ bytes of tensor data read per second).
    public var throughput: Double { seconds > 0 ? Double(bytesBefore) / seconds / 1e6 : 0 }
}
