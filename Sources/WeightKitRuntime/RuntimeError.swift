/// An error running a model: context overflow, bad token ids, bad sampling settings, a graph
/// that does not match its config.
public struct RuntimeError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: String, Sendable {
        /// Prompt plus requested tokens exceed the model's context.
        case contextOverflow
        /// A token id outside the vocabulary.
        case invalidToken
        /// An empty prompt or other bad request.
        case invalidRequest
        /// The graph's weights do not fit what its config asks for (a LayerNorm without bias).
        case invalidModel
        /// A layer's output or the logits became NaN or ±Inf; the message names layer and position.
        case nonFinite
    }

    /// What went wrong.
    public var kind: Kind
    /// Expected and found.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message, one line.
    public var description: String { message }

    /// `.invalidRequest`: next-token logits asked of an encoder (`family`).
    public static func encoderHasNoLogits(_ family: String) -> RuntimeError {
        RuntimeError(.invalidRequest, "\(family) is an encoder: it gives hidden states for whole sequences (encode), not next-token logits")
    }
}
