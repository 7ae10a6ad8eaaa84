// Opens a pack (header CRC, JSON header, tensor table), maps the first tensor in the table and
// prints its name and first and last byte: the work any program does before it can use the data.
#if canImport(Glibc)
import Glibc
#endif
import WeightKitFormats

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    print("usage: PackOpen FILE.wkp")
    exit(64)
}
do {
    let pack = try PackReader(path: arguments[1])
    guard let first = pack.tensors.first else {
        print("no tensors")
        exit(0)
    }
    let storage = try pack.storage(of: first)
    let (head, tail) = unsafe storage.withUnsafeBytes { raw in
        raw.isEmpty ? (0, 0) : (raw[0], raw[raw.count - 1])
    }
    print("\(first.name) \(first.dtype.shortName) \(first.shape) first byte \(head) last byte \(tail)")
} catch {
    print("error: \(error)")
    exit(1)
}
