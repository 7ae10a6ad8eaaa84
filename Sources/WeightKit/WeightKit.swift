// The WeightKit library product: one import for the whole library.
//
//     import WeightKit
//     let source = try openTensorSource(path: "model.safetensors")
//     for tensor in source.tensors { print(tensor.name, tensor.dtype, tensor.shape) }
@_exported import WeightKitCore
@_exported import WeightKitFormats
@_exported import WeightKitGraph
@_exported import WeightKitRuntime
@_exported import WeightKitTokenizer
@_exported import WeightKitQuantize
