import Foundation
import Testing
import WeightKit
import WeightKitCore
import WeightKitTestSupport

/// Gemma 3 4B and larger ship as `Gemma3ForConditionalGeneration`: the language model's settings in
/// `text_config`, its tensors under `language_model.model.` (Google's files, and what transformers'
/// `save_pretrained` writes) or `model.language_model.` (transformers' module names since 4.52, in a
/// state dict saved as it is), beside a vision tower. fixtures/models/gemma3-multimodal is such a
/// checkpoint around the gemma3 fixture's language model (generate_gemma3_multimodal.py); the family
/// suites run it against transformers and llama.cpp like any family. These tests cover the other
/// layout, what is still refused, and what HF → GGUF says it left out.
@Suite("Multimodal Gemma 3 checkpoints")
struct MultimodalGemma3Tests {
    /// `base` with every tensor renamed by `rename` (nil drops it), plus `extra` tensors.
    final class Renamed: TensorSource, @unchecked Sendable {  // filled in init, read-only after
        let base: any TensorSource
        let tensors: [TensorInfo]
        let original: [String: TensorInfo]
        var formatName: String { base.formatName }
        var files: [String] { base.files }
        var metadata: Metadata { base.metadata }

        init(_ base: any TensorSource, extra: [String: String] = [:], _ rename: (String) -> String?) {
            self.base = base
            var tensors: [TensorInfo] = [], original: [String: TensorInfo] = [:]
            for t in base.tensors {
                guard let name = rename(t.name) else { continue }
                var info = t
                info.name = name
                tensors.append(info)
                original[name] = t
            }
            for (name, from) in extra {
                var info = base.tensor(named: from)!
                info.name = name
                tensors.append(info)
                original[name] = base.tensor(named: from)!
            }
            self.tensors = tensors
            self.original = original
        }

        func storage(of tensor: TensorInfo) throws -> TensorStorage { try base.storage(of: original[tensor.name]!) }
    }

    /// transformers' in-memory names for the same tensors.
    static func inMemory(_ name: String) -> String? {
        if name.hasPrefix("language_model.model.") { return "model.language_model." + name.dropFirst("language_model.model.".count) }
        if name.hasPrefix("language_model.lm_head.") { return String(name.dropFirst("language_model.".count)) }
        return "model." + name  // vision_tower. → model.vision_tower.
    }

    @Test("the folder's tensors are the multimodal layout, with an image side")
    func fixtureLayout() throws {
        let folder = try HuggingFaceFolder(path: fixture("models/gemma3-multimodal"))
        let names = folder.tensors.tensors.map(\.name)
        #expect(names.contains("language_model.model.layers.0.self_attn.q_proj.weight"))
        #expect(names.contains { $0.hasPrefix("vision_tower.") } && names.contains { $0.hasPrefix("multi_modal_projector.") })
        #expect(folder.config?["model_type"]?.string == "gemma3" && folder.config?["text_config"]?.object != nil)
    }

    @Test("the in-memory model.language_model.* layout binds and gives transformers' ids")
    func inMemoryLayout() throws {
        let model = try ModelLoader.load(path: fixture("models/gemma3-multimodal"), tokenizer: false)
        #expect(model.graph.blocks[2].query.info.name == "language_model.model.layers.2.self_attn.q_proj.weight")
        let source = Renamed(model.source, Self.inMemory)
        #expect(source.tensors.contains { $0.name == "model.language_model.embed_tokens.weight" })
        #expect(source.tensors.contains { $0.name.hasPrefix("model.vision_tower.") })
        let graph = try ModelGraph.bind(source, config: model.graph.config)
        #expect(graph.blocks[2].query.info.name == "model.language_model.layers.2.self_attn.q_proj.weight")
        try FidelityTests.expectReference("gemma3-multimodal", Transformer(graph: graph, threads: 2, batch: 4), label: "gemma3 (in-memory layout)")
    }

    @Test("only the image side is skipped: a stray language-model tensor is refused, a missing one named as stored")
    func refusals() throws {
        let model = try ModelLoader.load(path: fixture("models/gemma3-multimodal"), tokenizer: false)
        let config = model.graph.config
        let stray = Renamed(model.source, extra: ["model.language_model.layers.0.mlp.extra.weight": "language_model.model.norm.weight"], Self.inMemory)
        let unexpected = try #require(throws: GraphError.self) { try ModelGraph.bind(stray, config: config) }
        #expect(unexpected.kind == .unexpectedTensor && unexpected.tensorName == "model.language_model.layers.0.mlp.extra.weight", "\(unexpected)")
        let gone = "model.language_model.layers.1.mlp.up_proj.weight"
        let missing = try #require(throws: GraphError.self) {
            try ModelGraph.bind(Renamed(model.source) { Self.inMemory($0).flatMap { $0 == gone ? nil : $0 } }, config: config)
        }
        #expect(missing.kind == .missingTensor && missing.tensorName == gone, "\(missing)")
    }

    @Test("HF → GGUF writes the language model and says the image side was left out")
    func toGGUF() throws {
        let temporary = TemporaryFolder()
        let report = try Converter.convert(input: fixture("models/gemma3-multimodal"), output: temporary.file("text.gguf"))
        let folder = try HuggingFaceFolder(path: fixture("models/gemma3-multimodal"))
        let vision = folder.tensors.tensors.map(\.name).filter { $0.hasPrefix("vision_tower.") || $0.hasPrefix("multi_modal_projector.") }
        let warning = try #require(report.warnings.first { $0.kind == .visionTowerDropped })
        #expect(Set(warning.names) == Set(vision) && !vision.isEmpty)
        let file = try GGUFFile(path: temporary.file("text.gguf"))
        #expect(file.tensors.count == folder.tensors.tensors.count - vision.count)
        #expect(file.metadata["general.architecture"]?.stringValue == "gemma3")
        #expect(file.tensors.allSatisfy { $0.name == "token_embd.weight" || $0.name == "output_norm.weight" || $0.name.hasPrefix("blk.") })
    }
}
