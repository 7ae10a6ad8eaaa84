/// What a reader knows about one tensor before touching its data.
public struct TensorInfo: Hashable, Sendable {
    /// The name as stored on disk (`model.layers.0.self_attn.q_proj.weight`).
    public var name: String
    /// The element type.
    public var dtype: DType
    /// Dimensions, outermost first.
    public var shape: Shape
    /// Size of the stored data in bytes (for block types, whole blocks).
    public var byteCount: Int
    /// Absolute byte offset of the data in its file, when the data sits in a file.
    public var fileOffset: Int?
    /// Index of the file holding the data in the source's `files` (shards), when there are several.
    public var fileIndex: Int
    /// The format's own type code when WeightKit does not know it (`dtype` is then `.unknown`
    /// and `byteCount` 0: the data's size cannot be known, and reading it is an error).
    public var unknownTypeCode: UInt32?

    /// Creates a tensor description.
    public init(
        name: String, dtype: DType, shape: Shape, byteCount: Int, fileOffset: Int? = nil, fileIndex: Int = 0,
        unknownTypeCode: UInt32? = nil
    ) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteCount = byteCount
        self.fileOffset = fileOffset
        self.fileIndex = fileIndex
        self.unknownTypeCode = unknownTypeCode
    }

    /// The type as reports show it: `q4_k`, or `unknown (type 99)`.
    public var typeName: String {
        guard dtype == .unknown else { return dtype.shortName }
        return "unknown (type \(unknownTypeCode.map(String.init) ?? "?"))"
    }

    /// Number of elements (the shape's product; validated by the reader that made this info).
    public var elementCount: Int { shape.elementCount ?? 0 }
}
