// The README's "Using the library" snippets, compiled and run by a test so they stay true.
// Usage: LibraryDemo [REPO_ROOT] [OUTPUT_FOLDER]   (defaults: ../.. and /tmp)
import WeightKit

let arguments = CommandLine.arguments
let root = arguments.count > 1 ? arguments[1] : "../.."
let outputFolder = arguments.count > 2 ? arguments[2] : "/tmp"

// 1. Load a model: a Hugging Face folder (config.json + safetensors + tokenizer.json) or a .gguf.
let model = try ModelLoader.load(path: root + "/fixtures/models/llama")
let config = model.graph.config
print("model: \(config.family) with \(config.layers) layers, hidden size \(config.hiddenSize), vocabulary \(config.vocabSize)")

// 2. List tensors: any supported file or folder; only headers are read.
let source = try FormatRegistry.open(path: root + "/fixtures/tiny-llama/model.safetensors")
for tensor in source.tensors.prefix(3) {
    print("tensor: \(tensor.name) \(tensor.dtype.shortName) \(tensor.shape) \(tensor.byteCount) bytes")
}
print("tensors: \(source.tensors.count), parameters: \(source.totalElements)")

// 3. Convert: floating tensors cast to f16, streamed tensor by tensor into a new file.
let payloads = try source.tensors.map { tensor in
    try TensorPayload(source: source, input: tensor, dtype: tensor.dtype.isFloatingPoint ? .float16 : nil)
}
let output = outputFolder + "/tiny-llama-f16.safetensors"
let report = try FormatRegistry.write(payloads, metadata: source.metadata, to: output, format: .safetensors)
let converted = try FormatRegistry.open(path: output)
print("converted: \(report.bytesWritten) bytes, first tensor \(converted.tensors[0].dtype.shortName)")

// 4. Generate: tokenize, run the transformer greedily, decode.
guard let tokenizer = model.tokenizer else { fatalError("the fixture has a tokenizer.json") }
let prompt = tokenizer.encode("Hello, world")
let transformer = Transformer(graph: model.graph, maxSequence: prompt.count + 20)
var sampler = Sampler(temperature: 0)  // 0: greedy; set temperature, topK, topP, seed to sample
let (ids, timings) = try Generator(transformer: transformer).generate(
    prompt: prompt, maxTokens: 20, sampler: &sampler, clock: { 0 }  // clock: seconds for the timings
) { _ in true }  // return false to stop early
print("generated ids: \(ids.map(String.init).joined(separator: " "))")
print("generated: \(timings.generatedTokens) tokens, text \(tokenizer.decode(ids).utf8.count) bytes")

// 5. Convert a GGUF to a Hugging Face folder: Hugging Face names, llama.cpp's Q/K order undone,
// blocks dequantized to f32, config.json and tokenizer files written from the GGUF metadata.
let hfFolder = outputFolder + "/tiny-llama-hf/"
let conversion = try Converter.convert(
    input: root + "/fixtures/gguf/tiny_llama.gguf", output: hfFolder, options: ConversionOptions(overwrite: true))
for warning in conversion.warnings { print("warning: \(warning.message)") }  // warnings are values
let written = conversion.files.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
print("gguf → hf: \(conversion.tensorCount) tensors, files \(written.joined(separator: " "))")

// 6. Quantize to Q8_0: 2-D weight matrices become blocks, norms stay f32; the report has each
// tensor's error. A folder → .gguf also gets GGUF names, hyperparameters and tokenizer keys.
let q8 = try Quantizer.quantize(
    input: hfFolder, output: outputFolder + "/tiny-llama-q8_0.gguf",
    options: QuantizationOptions(policy: QuantPolicy(scheme: .q8_0), overwrite: true))
let lowestCosine = q8.rows.compactMap(\.stats?.cosine).min() ?? 1
print("quantized: \(q8.quantizedCount) of \(q8.rows.count) tensors to q8_0, lowest cosine \(lowestCosine > 0.999 ? "above" : "below") 0.999")
