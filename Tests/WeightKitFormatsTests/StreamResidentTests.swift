import Foundation
import Testing
import WeightKitCore
import WeightKitFormats
import WeightKitTestSupport

/// Writers release the input's mapped pages behind the cursor (`TensorPayload.stream`), so
/// converting a model keeps this process's resident set near one chunk, not the whole input.
/// Measured on the input mapping alone (its `Rss` in /proc/self/smaps), so tests running beside
/// this one do not disturb it.
@Suite("Streaming releases the input's resident pages")
struct StreamResidentTests {
    static let elements = 12 << 20  // 48 MB of f32

    /// A safetensors file holding one f32 tensor "w" of `elements` non-zero values.
    static func source(in folder: TemporaryFolder) throws -> SafetensorsFile {
        let path = folder.file("w.safetensors")
        _ = try python("""
            import sys, json, struct, numpy as np
            n = int(sys.argv[2])
            h = json.dumps({"w": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}).encode()
            h += b" " * (-len(h) % 8)
            with open(sys.argv[1], "wb") as f:
                f.write(struct.pack("<Q", len(h)) + h)
                f.write((np.arange(n, dtype=np.float32) % 977 + 1).tobytes())
            """, [path, String(elements)])
        return try SafetensorsFile(path: path)
    }

    /// Resident bytes of the mapping that holds `address`, from /proc/self/smaps (nil elsewhere).
    static func residentBytes(ofMappingAt address: UInt) -> Int? {
        // /proc files report size 0, so read them to the end by hand.
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/smaps"),
              let data = try? handle.readToEnd(), let smaps = String(data: data, encoding: .utf8) else { return nil }
        var inside = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
               let lo = UInt(line[..<dash], radix: 16), let hi = UInt(line[line.index(after: dash)..<space], radix: 16) {
                inside = lo <= address && address < hi
            } else if inside, line.hasPrefix("Rss:") {
                return Int(line.split(separator: " ")[1]).map { $0 * 1024 }
            }
        }
        return nil
    }

    @Test("f32 → f16 and f32 → f32: the 48 MB input leaves at most one 32 MB window resident", arguments: [DType.float16, .float32])
    func releases(dtype: DType) throws {
        let folder = TemporaryFolder()
        let source = try Self.source(in: folder)
        let tensor = source.tensors[0]
        let storage = try source.storage(of: tensor)
        #expect(storage.isMapped)
        let address = unsafe storage.withUnsafeBytes { UInt(bitPattern: $0.baseAddress!) }
        var peak = 0, sum = 0.0
        let payload = try TensorPayload(source: source, input: tensor, dtype: dtype)
        try payload.stream { chunk in
            // Reads what it is handed, so the pages are really touched (as a writer's copy does).
            sum += Double(unsafe chunk.load(fromByteOffset: chunk.count - 4, as: UInt32.self))
            if let now = Self.residentBytes(ofMappingAt: address) { peak = max(peak, now) }
        }
        let after = try #require(Self.residentBytes(ofMappingAt: address), "no smaps entry for the input mapping")
        #expect(sum > 0)
        #expect(after < 1 << 20, "\(after) bytes of the input still resident after the stream")
        #expect(peak <= 40 << 20, "peak \(peak) bytes of the 48 MB input resident")
        // Released pages read back unchanged (they come from the page cache again).
        let last = unsafe storage.withUnsafeBytes { $0.load(fromByteOffset: $0.count - 4, as: Float.self) }
        #expect(last == Float((Self.elements - 1) % 977 + 1))
    }
}
