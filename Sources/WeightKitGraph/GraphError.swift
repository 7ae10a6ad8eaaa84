import WeightKitCore

/// An error binding tensors to a model: unknown architecture, bad config, missing, unexpected or
/// mis-shaped tensors. Carries the tensor name and the expected and found shapes in its message.
public struct GraphError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: String, Sendable {
        /// config.json / metadata names a family WeightKit does not run.
        case unknownArchitecture
        /// A config field is missing, of the wrong type, or inconsistent.
        case invalidConfig
        /// A tensor the architecture needs is absent.
        case missingTensor
        /// A tensor the architecture does not use is present.
        case unexpectedTensor
        /// A tensor has the wrong shape.
        case shapeMismatch
        /// A tensor has a dtype the runtime cannot compute on.
        case unsupportedDType
    }

    /// What went wrong.
    public var kind: Kind
    /// Expected and found.
    public var message: String
    /// The tensor concerned.
    public var tensorName: String?
    /// The file or folder concerned.
    public var path: String?

    /// Creates an error.
    public init(_ kind: Kind, _ message: String, tensorName: String? = nil, path: String? = nil) {
        self.kind = kind
        self.message = message
        self.tensorName = tensorName
        self.path = path
    }

    /// One line: `path, tensor "x": message`.
    public var description: String {
        var head = path ?? ""
        if let tensorName { head += head.isEmpty ? "tensor \"\(tensorName)\"" : ", tensor \"\(tensorName)\"" }
        return head.isEmpty ? message : head + ": " + message
    }
}
