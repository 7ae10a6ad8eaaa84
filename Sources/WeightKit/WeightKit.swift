// The WeightKit library product: one import for the whole library (README "Using the library",
// compiled by Examples/LibraryDemo).
//
//     import WeightKit
//     let source = try FormatRegistry.open(path: "model.safetensors")
//     for tensor in source.tensors { print(tensor.name, tensor.dtype.shortName, tensor.shape) }
//     let model = try ModelLoader.load(path: "./SmolLM2-135M/")   // config, graph, tokenizer
@_exported import WeightKitCore
@_exported import WeightKitFormats
@_exported import WeightKitGraph
@_exported import WeightKitRuntime
@_exported import WeightKitTokenizer
@_exported import WeightKitQuantize
