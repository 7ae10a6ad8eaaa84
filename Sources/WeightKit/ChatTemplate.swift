/// The chat formats `generate --chat` applies, recognised from a model's Jinja chat template text
/// (or its family when there is none). WeightKit does not execute templates: it recognises the
/// common layouts and renders them itself, so nothing from a file is ever run.
public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\ncontent<|im_end|>\n` (Qwen2, SmolLM2, many others); a system message
    /// the template adds when the user gives none is kept.
    case chatML(defaultSystem: String?)
    /// `<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>` (Llama 3).
    case llama3
    /// `[INST] <<SYS>>…<</SYS>> message [/INST]` (Llama 2, Mistral, TinyLlama chat).
    case llama2

    /// Recognises a template from its text; nil when it is none of the known layouts.
    public init?(templateText text: String) {
        if text.contains("<|im_start|>") {
            self = .chatML(defaultSystem: Self.literalSystem(in: text))
        } else if text.contains("<|start_header_id|>") {
            self = .llama3
        } else if text.contains("[INST]") {
            self = .llama2
        } else {
            return nil
        }
    }

    /// The default system text written literally in a ChatML template, if any.
    static func literalSystem(in text: String) -> String? {
        let marker = "<|im_start|>system\n"
        guard let start = text.firstRange(of: marker),
            let end = text[start.upperBound...].firstRange(of: "<|im_end|>")
        else { return nil }
        let body = String(text[start.upperBound..<end.lowerBound])
        return body.contains("{") || body.contains("'") ? nil : body
    }

    /// The prompt text for one user message (and an optional system message), ending where the
    /// assistant's answer begins.
    public func render(user: String, system: String? = nil) -> String {
        switch self {
        case .chatML(let defaultSystem):
            var text = ""
            if let sys = system ?? defaultSystem { text += "<|im_start|>system\n\(sys)<|im_end|>\n" }
            return text + "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
        case .llama3:
            var text = "<|begin_of_text|>"
            if let system { text += "<|start_header_id|>system<|end_header_id|>\n\n\(system)<|eot_id|>" }
            return text + "<|start_header_id|>user<|end_header_id|>\n\n\(user)<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
        case .llama2:
            let body = system.map { "<<SYS>>\n\($0)\n<</SYS>>\n\n\(user)" } ?? user
            return "<s>[INST] \(body) [/INST]"
        }
    }

    /// Tokens that end an assistant turn, besides EOS.
    public var endOfTurnTokens: [String] {
        switch self {
        case .chatML: return ["<|im_end|>"]
        case .llama3: return ["<|eot_id|>", "<|end_of_text|>"]
        case .llama2: return ["</s>"]
        }
    }
}
