import WeightKitCore

extension Trace {
    /// The trace as one self-contained HTML page (inline CSS and JS, no network): tokens with
    /// neighbours, attention heatmaps per layer × head, norms across layers, next-token bars and
    /// the logit-lens table. Model text reaches the page only as JSON data rendered with
    /// `textContent`, so it is never parsed as HTML.
    public var html: String {
        // In a <script> block, "</script" or "<!--" inside a string would end it: write every
        // "<" as \u003c (only strings can contain one in JSON).
        let data = JSONWriter.serialize(json(weightDecimals: 3)).replacingAll("<", with: "\\u003c")
        return Self.htmlHead(title: "weightkit trace · " + Self.escapeHTML(model))
            + "<script id=\"trace-data\" type=\"application/json\">" + data + "</script>\n"
            + "<script>\n" + Self.script + "</script>\n</body>\n</html>\n"
    }

    /// The page's script (`Resources/trace.js`, compiled in by SwiftPM's `embedInCode`): builds
    /// every section from the JSON data with DOM calls and `textContent` (no innerHTML of model
    /// text). Heatmaps larger than 256 positions are max-pooled to 256 × 256 so long prompts stay
    /// fast. The file's final newline is dropped: the page closes the script right after it.
    static let script: String = {
        let bytes = PackageResources.trace_js
        return String(decoding: bytes.last == UInt8(ascii: "\n") ? bytes.dropLast() : bytes[...], as: UTF8.self)
    }()

    /// `&`, `<`, `>`, `"` and `'` as entities.
    public static func escapeHTML(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    static func htmlHead(title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title)</title>
        <style>
        body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 12px 20px; color: #222; }
        h1 { font-size: 20px; } h2 { font-size: 17px; border-bottom: 1px solid #ccc; margin-top: 28px; }
        table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
        .piece { font-family: ui-monospace, monospace; background: #f3f3f3; border-radius: 3px; padding: 0 3px; white-space: pre; }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        .muted { color: #777; } .hit { background: #e5f3e0; }
        #heads { display: flex; flex-wrap: wrap; gap: 10px; }
        .head { text-align: center; font-size: 12px; } .head canvas { border: 1px solid #ccc; image-rendering: pixelated; cursor: crosshair; }
        #tip { position: fixed; pointer-events: none; background: #222; color: #fff; padding: 3px 6px; border-radius: 3px; font-size: 12px; display: none; white-space: pre; }
        .bar { background: #4a7bd0; height: 14px; display: inline-block; vertical-align: middle; }
        svg text { font-size: 11px; fill: #444; }
        </style>
        </head>
        <body>
        <h1 id="title"></h1>
        <section id="s-tokens"><h2>1 · Tokens and embeddings</h2><p class="muted">Embedding norm and the nearest vocabulary tokens by cosine similarity.</p><table id="tokens"></table></section>
        <section id="s-attention"><h2>2 · Attention</h2>
        <p>Layer <select id="layer"></select> <span class="muted">Each heatmap: rows are query positions, columns the attended positions (a decoder's causal triangle, an encoder's full square); darker is more weight. H is the last position's entropy in bits.</span></p>
        <div id="heads"></div></section>
        <section id="s-residual"><h2>3 · MLP and the residual stream</h2><p class="muted">Norms at the last position after each layer.</p><div id="norms"></div><table id="neurons"></table></section>
        <section id="s-unembedding"><h2>4 · Unembedding</h2><div id="next"></div><h3>Logit lens</h3><p class="muted">Final norm + unembedding applied to the residual stream after each layer.</p><table id="lens"></table></section>
        <div id="tip"></div>

        """
    }
}

extension String {
    /// Every occurrence of `target` replaced (Foundation-free).
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for ch in self { if ch == target { out += replacement } else { out.append(ch) } }
        return out
    }
}
