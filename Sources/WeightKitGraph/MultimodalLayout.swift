import WeightKitCore

/// Where a multimodal checkpoint (Gemma 3 4B and larger, `Gemma3ForConditionalGeneration`) keeps
/// its language model. Text generation runs that language model alone, as llama.cpp does: its
/// converter writes the vision tower to a separate `mmproj` file. Reference: transformers 5
/// `models/gemma3/modeling_gemma3.py` (`_checkpoint_conversion_mapping` between the two layouts).
public struct MultimodalLayout: Sendable, Equatable {
    /// What the language model's `model.` prefix is stored as.
    public var model: String
    /// What `lm_head.` is stored as.
    public var head: String

    /// Google's checkpoints and what transformers' `save_pretrained` writes:
    /// `language_model.model.layers.0…`, `language_model.lm_head.weight`.
    public static let saved = MultimodalLayout(model: "language_model.model.", head: "language_model.lm_head.")
    /// transformers' module names since 4.52 (`model.language_model.layers.0…`, `lm_head.weight`),
    /// which a state dict saved as it is in memory carries.
    public static let inMemory = MultimodalLayout(model: "model.language_model.", head: "lm_head.")

    /// Tensor name prefixes of the image side, which text generation does not use.
    public static let visionPrefixes = ["model.vision_tower.", "model.multi_modal_projector.", "vision_tower.", "multi_modal_projector."]

    /// The layout of a checkpoint with these tensor names, nil for a text-only model (its
    /// language model's embedding decides: `<prefix>embed_tokens.weight`).
    public static func detect(_ names: some Sequence<String>) -> MultimodalLayout? {
        for name in names {
            for layout in [saved, inMemory] where name == layout.model + "embed_tokens.weight" { return layout }
        }
        return nil
    }

    /// True for a tensor of the image side.
    public static func isVision(_ name: String) -> Bool { visionPrefixes.contains { name.hasPrefix($0) } }

    /// The text-only model's name for a stored name (`model.layers.0…`), nil for the image side.
    public func textName(_ stored: String) -> String? {
        if Self.isVision(stored) { return nil }
        if stored.hasPrefix(model) { return "model." + stored.dropFirst(model.count) }
        if stored.hasPrefix(head) { return "lm_head." + stored.dropFirst(head.count) }
        return stored
    }

    /// `name` as the text-only model's under `layout` (nil for the image side); without a
    /// layout (a text-only checkpoint), `name` itself.
    public static func textName(_ name: String, in layout: MultimodalLayout?) -> String? {
        guard let layout else { return name }
        return layout.textName(name)
    }

    /// The stored name of a text-only model's name.
    public func storedName(_ text: String) -> String {
        if text.hasPrefix("model.") { return model + text.dropFirst("model.".count) }
        if text.hasPrefix("lm_head.") { return head + text.dropFirst("lm_head.".count) }
        return text
    }

    /// The language model's config.json: a multimodal Gemma 3 config keeps it in `text_config`
    /// (with bos/eos and tying at the top level); any other config is returned as it is.
    public static func languageModelConfig(_ json: JSONObject) -> JSONObject {
        guard json["model_type"]?.string == "gemma3", let text = json["text_config"]?.object else { return json }
        var merged = text
        for key in ["bos_token_id", "eos_token_id", "tie_word_embeddings", "torch_dtype", "dtype"] where merged[key] == nil {
            if let v = json[key] { merged.set(key, v) }
        }
        merged.set("model_type", "gemma3_text")
        if merged["architectures"] == nil { merged.set("architectures", [.string("Gemma3ForCausalLM")]) }
        return merged
    }
}
