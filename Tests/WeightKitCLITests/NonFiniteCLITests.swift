import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// The non-finite guard through the command line: a model whose weights overflow to ±Inf stops
/// every command that runs it with an error naming the layer and the position, exit 65 — never
/// a text made of whatever id the sampler picks from NaN logits.
@Suite("weightkit: a model that overflows stops with the guard's error")
struct NonFiniteCLITests {
    /// The llama fixture with layer 1's attention output projection set to ±3e38: its products
    /// overflow to ±Inf (and Inf − Inf to NaN) at every position.
    static func overflowingModel(_ dir: TemporaryFolder) throws -> String {
        let folder = dir.file("overflow")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["config.json", "tokenizer.json"] {
            try writeBytes(readBytes(fixture("models/llama/\(name)")), to: folder + "/" + name)
        }
        var bytes = try readBytes(fixture("models/llama/model.safetensors"))
        let tensor = try #require(try SafetensorsFile(path: fixture("models/llama/model.safetensors")).tensor(named: "model.layers.1.self_attn.o_proj.weight"))
        let offset = try #require(tensor.fileOffset)
        for i in 0..<tensor.elementCount {
            let bits = (i % 2 == 0 ? Float(3e38) : Float(-3e38)).bitPattern
            for b in 0..<4 { bytes[offset + 4 * i + b] = UInt8(truncatingIfNeeded: bits >> (8 * b)) }
        }
        try writeBytes(bytes, to: folder + "/model.safetensors")
        return folder
    }

    @Test("generate, bench, trace, perplexity and diff exit 65 naming layer 1 and a position", arguments: [
        ["generate", "MODEL", "--prompt", "Hello", "-n", "4"],
        ["bench", "MODEL", "--threads", "1", "--prompt", "8", "--generate", "2", "--repetitions", "1"],
        ["trace", "MODEL", "--prompt", "Hello"],
        ["perplexity", "MODEL", "--text", "TEXT"],
        ["diff", "MODEL", "fixtures/models/llama", "--prompt", "Hello"],
    ])
    func commands(_ template: [String]) throws {
        let dir = TemporaryFolder()
        let model = try Self.overflowingModel(dir)
        let text = dir.file("text.txt")
        try writeBytes(Array("Hello, world. Hello again, world.".utf8), to: text)
        let result = try weightkit(template.map { $0 == "MODEL" ? model : $0 == "TEXT" ? text : $0 })
        #expect(result.status == 65, "\(template[0]): \(result.status) \(result.stderr)")
        #expect(result.stderr.contains("layer 1's output is not finite") && result.stderr.contains("position"), "\(template[0]): \(result.stderr)")
    }

    @Test("a config with rope_theta 0 is refused at load, naming the key (it used to generate an empty text, exit 0)")
    func ropeThetaZero() throws {
        let dir = TemporaryFolder()
        let folder = dir.file("theta0")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["model.safetensors", "tokenizer.json"] {
            try writeBytes(readBytes(fixture("models/llama/\(name)")), to: folder + "/" + name)
        }
        var config = String(decoding: try readBytes(fixture("models/llama/config.json")), as: UTF8.self)
        config = config.replacingOccurrences(of: "\"rope_theta\": 10000.0", with: "\"rope_theta\": 0")
        #expect(config.contains("\"rope_theta\": 0"))
        try writeBytes(Array(config.utf8), to: folder + "/config.json")
        let result = try weightkit("generate", folder, "--prompt", "Hello", "-n", "4")
        #expect(result.status == 65 && result.stderr.contains("rope_theta") && result.stdout.isEmpty, "\(result.status) \(result.stderr)")
    }
}
