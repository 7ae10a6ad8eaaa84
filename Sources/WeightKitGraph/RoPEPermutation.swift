/// llama.cpp's Q/K row permutation for LLaMA-family RoPE.
///
/// Hugging Face LLaMA rotates each head's two halves (`rotate_half`: dims i and i + d/2 pair
/// up); llama.cpp rotates adjacent pairs (2i, 2i+1). Its converter therefore permutes Q and K
/// rows per head, half-split → interleaved (`convert_hf_to_gguf.py` `LlamaModel.permute`):
///
///     w.reshape(heads, 2, d/2, cols).swapaxes(1, 2).reshape(rows, cols)
///
/// and transformers undoes it when it loads a GGUF (`reverse_permute_weights`). K uses the KV
/// head count. Only rows move, so the permutation applies to quantized rows without decoding.
public enum RoPEPermutation {
    /// Row order HF → GGUF: GGUF row r is HF row `order[r]`. Nil when `rows` is not a whole
    /// number of heads of even size.
    public static func ggufRowOrder(rows: Int, heads: Int) -> [Int]? {
        guard heads > 0, rows % heads == 0, (rows / heads) % 2 == 0 else { return nil }
        let headDim = rows / heads, half = headDim / 2
        var order = [Int](repeating: 0, count: rows)
        for h in 0..<heads {
            for i in 0..<half {
                for j in 0..<2 {
                    order[h * headDim + i * 2 + j] = h * headDim + j * half + i
                }
            }
        }
        return order
    }

    /// Row order GGUF → HF (the inverse): HF row r is GGUF row `order[r]`.
    public static func hfRowOrder(rows: Int, heads: Int) -> [Int]? {
        guard let forward = ggufRowOrder(rows: rows, heads: heads) else { return nil }
        var inverse = [Int](repeating: 0, count: rows)
        for (r, from) in forward.enumerated() { inverse[from] = r }
        return inverse
    }

    /// Applies a row order to a row-major matrix of `values` (tests and small tensors).
    public static func apply<T>(_ order: [Int], to values: [T], cols: Int) -> [T] {
        var out: [T] = []
        out.reserveCapacity(values.count)
        for from in order { out.append(contentsOf: values[from * cols..<(from + 1) * cols]) }
        return out
    }
}
