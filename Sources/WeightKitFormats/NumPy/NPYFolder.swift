import WeightKitCore

/// A folder of `.npy` files read as one tensor set: each file is a tensor named after the file
/// (`folder/wte.npy` → `wte`), in sorted file-name order. Other files are ignored.
public final class NPYFolder: TensorSource {
    /// The folder.
    public let path: String
    /// One reader per `.npy` file, in `files` order.
    public let arrays: [NPYFile]
    private let byName: [String: Int]

    public var formatName: String { "npy-folder" }
    public var files: [String] { arrays.map(\.file.path) }
    public var tensors: [TensorInfo] { arrays.map(\.info) }
    public var metadata: Metadata { Metadata() }

    /// Cap on files: a model has thousands of tensors; this bounds the file descriptors and
    /// mappings one folder can make us hold open.
    public static let maxFiles = 1 << 16

    /// Opens every `*.npy` file in `path`.
    public init(path: String) throws(FormatError) {
        self.path = path
        let names = try FormatDetector.listDirectory(path).filter { $0.hasSuffix(".npy") }
        guard !names.isEmpty else {
            throw FormatError(.unknownFormat, "folder holds no .npy files", path: path)
        }
        guard names.count <= Self.maxFiles else {
            throw .limit("number of .npy files", value: names.count, cap: Self.maxFiles, path: path)
        }
        var arrays: [NPYFile] = []
        var byName: [String: Int] = [:]
        for (i, name) in names.enumerated() {
            let array = try NPYFile(path: joinPath(path, name), fileIndex: i)
            byName[array.info.name] = i
            arrays.append(array)
        }
        self.arrays = arrays
        self.byName = byName
    }

    public func storage(of tensor: TensorInfo) throws -> TensorStorage {
        guard let index = byName[tensor.name] else {
            throw FormatError(.tensorNotFound, "no file \"\(tensor.name).npy\"", path: path, tensorName: tensor.name)
        }
        return try arrays[index].storage(of: arrays[index].info)
    }
}
