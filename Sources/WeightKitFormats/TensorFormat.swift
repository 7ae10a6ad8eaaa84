import WeightKitCore

/// The file formats WeightKit reads and writes.
public enum TensorFormat: String, CaseIterable, Sendable {
    /// A single `.safetensors` file.
    case safetensors
    /// A sharded safetensors set: `model.safetensors.index.json` and its shards.
    case safetensorsIndex = "safetensors-index"
    /// A Hugging Face model folder (`config.json` + safetensors, single or sharded).
    case huggingFace = "hf"
    /// A NumPy `.npy` file (one tensor).
    case npy
    /// A NumPy `.npz` archive.
    case npz
    /// A folder of `.npy` files (file name = tensor name).
    case npyFolder = "npy-folder"
    /// A GGUF file (llama.cpp).
    case gguf
    /// A WeightKit pack.
    case wkp

    /// The usual file extension, without the dot (nil for folders).
    public var fileExtension: String? {
        switch self {
        case .safetensors: return "safetensors"
        case .npy: return "npy"
        case .npz: return "npz"
        case .gguf: return "gguf"
        case .wkp: return "wkp"
        case .safetensorsIndex, .huggingFace, .npyFolder: return nil
        }
    }

    /// Parses a user's `--format`/`--to` word: `safetensors`, `st`, `npz`, `hf`, …
    public init?(userName: String) {
        switch userName.lowercased() {
        case "safetensors", "st": self = .safetensors
        case "safetensors-index", "index": self = .safetensorsIndex
        case "hf", "huggingface", "hugging-face": self = .huggingFace
        case "npy": self = .npy
        case "npz": self = .npz
        case "npy-folder", "npydir": self = .npyFolder
        case "gguf": self = .gguf
        case "wkp", "pack": self = .wkp
        default: return nil
        }
    }
}
