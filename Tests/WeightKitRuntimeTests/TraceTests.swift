import Foundation
import Testing
import WeightKit
import WeightKitTestSupport

/// `Tracer` on the tiny fixture models: what the observer of the forward pass records, checked
/// against an independent numpy forward pass and against the model's own logits.
@Suite("Trace of the forward pass")
struct TraceTests {
    /// 40 ids: longer than the 32-token prefill chunk, so the observer sees two chunks.
    static let prompt = (0..<40).map { ($0 * 37 + 11) % 256 }

    /// Attention weights of every layer and head for `ids`, from a numpy float64 reimplementation
    /// of Hugging Face's Llama / Qwen2 attention (half-split RoPE, GQA, optional q/k/v biases).
    static let numpyAttention = #"""
    import json, sys, numpy as np
    from safetensors.numpy import load_file
    folder, ids = sys.argv[1], json.loads(sys.argv[2])
    cfg = json.load(open(folder + '/config.json'))
    W = {k: v.astype(np.float64) for k, v in load_file(folder + '/model.safetensors').items()}
    H, KV, d = cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['hidden_size']
    hd = cfg.get('head_dim') or d // H
    theta = (cfg.get('rope_parameters') or {}).get('rope_theta', cfg.get('rope_theta', 10000.0))
    eps, n = cfg['rms_norm_eps'], len(ids)
    def norm(x, w): return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w
    def lin(x, name):
        y = x @ W[name + '.weight'].T
        return y + W[name + '.bias'] if name + '.bias' in W else y
    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    ang = np.outer(np.arange(n), inv); ang = np.concatenate([ang, ang], -1)
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    def rope(x): return x * cos + np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1) * sin
    x = W['model.embed_tokens.weight'][ids]
    out = []
    for l in range(cfg['num_hidden_layers']):
        p = 'model.layers.%d.' % l
        h = norm(x, W[p + 'input_layernorm.weight'])
        q = rope(lin(h, p + 'self_attn.q_proj').reshape(n, H, hd))
        k = rope(lin(h, p + 'self_attn.k_proj').reshape(n, KV, hd))
        v = lin(h, p + 'self_attn.v_proj').reshape(n, KV, hd)
        k, v = np.repeat(k, H // KV, 1), np.repeat(v, H // KV, 1)
        s = np.einsum('qhd,khd->hqk', q, k) / np.sqrt(hd) + np.triu(np.full((n, n), -np.inf), 1)
        a = np.exp(s - s.max(-1, keepdims=True)); a /= a.sum(-1, keepdims=True)
        out.append(a.tolist())
        x = x + lin(np.einsum('hqk,khd->qhd', a, v).reshape(n, H * hd), p + 'self_attn.o_proj')
        h = norm(x, W[p + 'post_attention_layernorm.weight'])
        g = lin(h, p + 'mlp.gate_proj')
        x = x + lin(g / (1 + np.exp(-g)) * lin(h, p + 'mlp.up_proj'), p + 'mlp.down_proj')
    print(json.dumps(out))
    """#

    @Test("attention weights equal a numpy forward pass within 1e-5, rows are causal and sum to 1", arguments: ["llama", "qwen2"])
    func attention(_ family: String) throws {
        let model = try ModelLoader.load(path: fixture("models/\(family)"))
        let trace = try Tracer.trace(graph: model.graph, tokens: Self.prompt, options: .init(runtime: .init(threads: 2)))
        let text = try python(Self.numpyAttention, [fixture("models/\(family)"), "\(Self.prompt)"])
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[[[Double]]]])
        #expect(trace.layers.count == model.graph.config.layers)
        var worst = 0.0
        for layer in trace.layers {
            #expect(layer.heads.count == model.graph.config.heads)
            for head in layer.heads {
                #expect(head.weights.count == Self.prompt.count)
                for (p, row) in head.weights.enumerated() {
                    #expect(row.count == p + 1, "causal: position \(p) sees positions 0 ... \(p)")
                    #expect(abs(row.reduce(0, +) - 1) < 1e-5)
                    let want = reference[layer.index][head.index][p]
                    for (j, w) in row.enumerated() { worst = max(worst, abs(Double(w) - want[j])) }
                    #expect(want[(p + 1)...].allSatisfy { $0 == 0 }, "the reference is causal too")
                }
                #expect(head.entropy >= 0 && head.entropy <= Float(Foundation.log2(Double(Self.prompt.count))) + 1e-4)
            }
        }
        #expect(worst < 1e-5, "max |Δ attention| \(worst)")
    }

    @Test("the logit lens after the last layer is the model's own next-token distribution", arguments: ["gpt2", "llama", "qwen2"])
    func lensEqualsLogits(_ family: String) throws {
        let model = try ModelLoader.load(path: fixture("models/\(family)"))
        let ids = Array(Self.prompt.prefix(12))
        let trace = try Tracer.trace(graph: model.graph, tokens: ids, options: .init(layers: [0], top: 4, runtime: .init(threads: 1)))
        let logits = try Transformer(graph: model.graph, threads: 1).forward(ids)
        let peak = logits.max()!, sum = logits.map { Foundation.exp($0 - peak) }.reduce(0, +)
        let expected = logits.enumerated().sorted { $0.element > $1.element }.prefix(4)
        let last = try #require(trace.layers.last)
        #expect(last.lens.map(\.id) == expected.map(\.offset))
        #expect(trace.next.map(\.id) == expected.map(\.offset))
        for (got, want) in zip(last.lens, expected) {
            #expect(abs(got.score - Foundation.exp(want.element - peak) / sum) < 1e-5)
        }
        #expect(last.finalTokenRank == 0)
        #expect(trace.emergenceLayer != nil)
        #expect(trace.layers[0].heads.count == model.graph.config.heads)
        let later = trace.layers.dropFirst().allSatisfy { $0.heads.isEmpty }
        #expect(later, "only the selected layer keeps its matrices")
        #expect(trace.tokens.map(\.id) == ids)
        #expect(trace.tokens.allSatisfy { t in t.neighbours.count == 4 && !t.neighbours.contains { n in n.id == t.id } })
    }

    @Test("embedding neighbours are the rows with the highest cosine similarity")
    func neighbours() throws {
        let model = try ModelLoader.load(path: fixture("models/llama"))
        let trace = try Tracer.trace(graph: model.graph, tokens: [65], options: .init(top: 3, runtime: .init(threads: 1)))
        let text = try python(#"""
            import sys, json, numpy as np
            from safetensors.numpy import load_file
            E = load_file(sys.argv[1])['model.embed_tokens.weight'].astype(np.float64)
            c = E @ E[65] / (np.linalg.norm(E, axis=1) * np.linalg.norm(E[65])); c[65] = -2
            print(json.dumps({'ids': np.argsort(-c)[:3].tolist(), 'norm': float(np.linalg.norm(E[65]))}))
            """#, [fixture("models/llama/model.safetensors")])
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(trace.tokens[0].neighbours.map(\.id) == reference["ids"] as? [Int])
        #expect(abs(Double(trace.tokens[0].embeddingNorm) - (reference["norm"] as! Double)) < 1e-5)
    }

    @Test("layer lists parse: all, last, ranges, negative indices; bad ones are refused")
    func layerSpecs() {
        #expect(Tracer.parseLayers("all", layerCount: 3) == [0, 1, 2])
        #expect(Tracer.parseLayers("last", layerCount: 30) == [29])
        #expect(Tracer.parseLayers("5-7,0,-1", layerCount: 30) == [0, 5, 6, 7, 29])
        #expect(Tracer.parseLayers("3", layerCount: 3) == nil)
        #expect(Tracer.parseLayers("2-1", layerCount: 3) == nil)
        #expect(Tracer.parseLayers("x", layerCount: 3) == nil)
        #expect(Tracer.parseLayers("", layerCount: 3) == nil)
    }

    @Test("HTML escapes model text: the data block cannot close its script tag")
    func htmlEscaping() throws {
        var trace = try Tracer.trace(graph: ModelLoader.load(path: fixture("models/gpt2")).graph, tokens: [1, 2, 3], options: .init(top: 2, runtime: .init(threads: 1)))
        trace.tokens[0].piece = "</script><img src=x onerror=alert(1)>"
        trace.model = "<b>&'\""
        let html = trace.html
        #expect(!html.contains("<img"))
        #expect(!html.contains("<b>"))
        #expect(html.contains("&lt;b&gt;&amp;&#39;&quot;"))
        #expect(html.components(separatedBy: "</script>").count == 3, "only the two real script blocks close")
        #expect(!html.contains("<link") && !html.contains("<script src") && !html.contains("@import"), "no network resources")
        // The script is the resource file, compiled in, closed right after its last line.
        let script = String(decoding: try readBytes(repositoryRoot + "/Sources/WeightKit/Resources/trace.js"), as: UTF8.self)
        #expect(script.hasSuffix(");\n") && script.utf8.count > 4000)
        #expect(html.hasSuffix("<script>\n" + script.dropLast() + "</script>\n</body>\n</html>\n"))
    }
}
