import ArgumentParser
import WeightKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension WeightKitCommand.Diff {
    /// Runs `prompt` through both models token by token; per position KL(A ‖ B) of the
    /// next-token distributions and top-1 agreement, both models run as `runtime` says.
    static func comparePrompt(_ prompt: String, a: String, b: String, json: Bool, runtime: WeightKitRuntime.RuntimeOptions) throws -> JSONValue {
        let ma = try ModelLoader.load(path: a), mb = try ModelLoader.load(path: b)
        guard let tokenizer = ma.tokenizer ?? mb.tokenizer else {
            throw ValidationError("neither model has a tokenizer, so the prompt cannot be encoded")
        }
        guard ma.graph.config.vocabSize == mb.graph.config.vocabSize else {
            throw ValidationError("the models have different vocabularies (\(ma.graph.config.vocabSize) vs \(mb.graph.config.vocabSize))")
        }
        let ids = tokenizer.encode(prompt, addSpecialTokens: true)
        let ta = Transformer(graph: ma.graph, maxSequence: max(ids.count, 1), options: runtime)
        let tb = Transformer(graph: mb.graph, maxSequence: max(ids.count, 1), options: runtime)
        var positions: [JSONValue] = [], agree = 0, klSum = 0.0
        for (i, id) in ids.enumerated() {
            let la = try ta.forward([id]), lb = try tb.forward([id])
            let kl = ModelComparison.klDivergence(la, lb)
            let topA = Sampler.argmax(la), topB = Sampler.argmax(lb)
            if topA == topB { agree += 1 }
            klSum += kl
            positions.append(["position": .int(Int64(i)), "token": .int(Int64(id)), "kl": .double(kl),
                              "topA": .int(Int64(topA)), "topB": .int(Int64(topB))])
            if !json {
                Console.out("position \(i) \(String(reflecting: tokenizer.decode([id], skipSpecialTokens: false))): KL \(short(kl)), top-1 \(topA == topB ? "agree" : "differ (\(topA) vs \(topB))")")
            }
        }
        let n = max(ids.count, 1)
        if !json { Console.out("mean KL \(klSum / Double(n)), top-1 agreement \(agree)/\(ids.count)") }
        return ["positions": .array(positions), "meanKL": .double(klSum / Double(n)), "top1Agreement": .double(Double(agree) / Double(n))]
    }
}
