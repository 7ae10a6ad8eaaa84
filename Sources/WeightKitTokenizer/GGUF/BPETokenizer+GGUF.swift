import WeightKitCore

/// Tokenizers embedded in GGUF metadata (`tokenizer.ggml.*`).
public enum BPETokenizer {
    /// Builds the tokenizer from GGUF metadata: the tokenizer.json and tokenizer_config.json that
    /// `GGUFTokenizer` translates it to, read by `TokenizerJSON` — the same pipeline a converted
    /// Hugging Face folder loads, so the two give the same ids.
    public static func fromGGUFMetadata(_ metadata: Metadata) throws -> PipelineTokenizer {
        let json = try GGUFTokenizer.tokenizerJSON(validating: metadata)
        let config = GGUFTokenizer.tokenizerConfig(ggufMetadata: metadata, contextLength: nil)
        return try TokenizerJSON.applyConfig(config, to: TokenizerJSON.parse(json))
    }
}
