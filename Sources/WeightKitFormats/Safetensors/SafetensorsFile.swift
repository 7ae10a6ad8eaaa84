import WeightKitCore

/// A single `.safetensors` file: validated header, tensors as zero-copy views into the mapping.
public final class SafetensorsFile: TensorSource {
    /// The mapped file.
    public let file: MappedFile
    /// The validated header.
    public let header: SafetensorsHeader

    public var formatName: String { "safetensors" }
    public var files: [String] { [file.path] }
    public var tensors: [TensorInfo] { header.tensors }
    public var metadata: Metadata { header.metadata }

    /// Maps and validates `path`; reads only the header.
    public init(path: String) throws(FormatError) {
        file = try MappedFile(path: path)
        header = try SafetensorsHeader(file: file)
    }

    public func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard let offset = tensor.fileOffset else {
            throw FormatError(.tensorNotFound, "tensor has no data offset", path: file.path, tensorName: tensor.name)
        }
        try file.checkNotShrunk(tensorName: tensor.name)
        // SAFETY of the view: the header check proved every tensor lies inside the file.
        return TensorStorage(file: file, range: offset..<offset + tensor.byteCount)
    }
}
