/// Something a conversion or quantization did that the caller should know about but that did
/// not stop it: names kept, metadata dropped, a tokenizer not carried over.
///
/// Returned in the report (`ConversionReport.warnings`, `QuantizationReport.warnings`) rather
/// than printed, so a library caller decides what to show; the CLI prints each as
/// `weightkit: warning: <message>`.
public struct ConversionWarning: Sendable, Hashable, CustomStringConvertible {
    /// What kind of loss or fallback happened.
    public enum Kind: String, Sendable, Hashable {
        /// The GGUF architecture has no Hugging Face mapping: tensor names kept, no config.json.
        case unknownArchitecture
        /// Some tensors have no name in the target naming and keep their own (`names`).
        case unmappedTensors
        /// The tokenizer could not be translated to the target (no tokenizer.json, or no GGUF
        /// tokenizer keys) and was left out.
        case tokenizerNotConverted
        /// Metadata keys the target format cannot hold were dropped (`names`).
        case metadataDropped
        /// A multimodal checkpoint's vision tower and projector were left out (`names`): the
        /// output holds the language model only.
        case visionTowerDropped
        /// Importance-matrix entries name tensors the model does not have (`names`); like
        /// llama-quantize, quantization goes on without them.
        case importanceUnused
        /// Tensors quantized to a type that uses importance had no entry in the importance
        /// matrix (`names`); like llama-quantize, they are quantized without one.
        case importanceMissing
        /// The importance matrix does not change the output: the type (Q8_0) ignores it, as
        /// ggml's quantizer does.
        case importanceIgnored
        /// Tensors larger than the shard size (`names`): each got a shard of its own, larger
        /// than the size asked for (as llama-gguf-split does).
        case shardOverSize
    }

    /// What happened.
    public var kind: Kind
    /// One sentence for people, naming what was affected.
    public var message: String
    /// The tensors or metadata keys concerned, when the warning is about some.
    public var names: [String]

    /// Creates a warning.
    public init(_ kind: Kind, _ message: String, names: [String] = []) {
        self.kind = kind
        self.message = message
        self.names = names
    }

    /// The message.
    public var description: String { message }
}

extension ConversionWarning {
    /// A GGUF `general.architecture` that has no Hugging Face names.
    static func unknownArchitecture(_ arch: String) -> ConversionWarning {
        ConversionWarning(.unknownArchitecture, "architecture \(arch) has no Hugging Face mapping; tensor names kept, no config.json")
    }

    /// Tensors written under their own names because the target naming has none for them.
    static func unmapped(_ names: [String], toGGUF: Bool) -> ConversionWarning {
        let list = names.joined(separator: ", ")
        return ConversionWarning(
            .unmappedTensors, toGGUF ? "no GGUF name for \(list); written as is" : "kept GGUF names for \(list)", names: names)
    }

    /// Metadata keys `format` cannot store: one warning naming them all (the message lists the
    /// first five; `names` holds every key).
    static func metadataDropped(_ keys: [String], format: String) -> [ConversionWarning] {
        guard !keys.isEmpty else { return [] }
        if keys.count == 1 { return [ConversionWarning(.metadataDropped, "metadata \"\(keys[0])\" cannot be stored in \(format); dropped", names: keys)] }
        let shown = keys.prefix(5).map { "\"\($0)\"" }.joined(separator: ", ")
        let rest = keys.count > 5 ? " and \(keys.count - 5) more" : ""
        return [ConversionWarning(.metadataDropped, "\(keys.count) metadata keys cannot be stored in \(format); dropped: \(shown)\(rest)", names: keys)]
    }
}
