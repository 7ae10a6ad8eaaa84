import Testing
import WeightKitCore
import WeightKitTestSupport

/// `ZlibStream` (raw DEFLATE) against Python's zlib, and its limits.
@Suite("Pack compression (ZlibStream)")
struct PackCompressionTests {
    /// Compresses `bytes` with a buffer of `capacity`; nil when it does not fit.
    static func compress(_ bytes: [UInt8], capacity: Int, pieces: Int = 3) throws -> [UInt8]? {
        let buffer = AlignedBuffer(count: capacity)
        var compressor = try ZlibStream.Compressor(level: 6, output: buffer)
        let step = max(1, bytes.count / pieces)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + step)
            let ok = bytes.withUnsafeBytes { compressor.compress(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
            if !ok { return nil }
            start = end
        }
        guard compressor.finish() else { return nil }
        return buffer.withUnsafeBytes { Array($0.prefix(compressor.produced)) }
    }

    static func inflate(_ stream: [UInt8], size: Int) throws -> [UInt8] {
        let out = AlignedBuffer(count: size)
        let input = AlignedBuffer(stream)
        try input.withUnsafeBytes { input throws(ZlibStream.Failure) in
            try out.withUnsafeMutableBytes { output throws(ZlibStream.Failure) in try ZlibStream.inflate(input, into: output) }
        }
        return out.withUnsafeBytes { Array($0) }
    }

    static let text: [UInt8] = Array(String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 400).utf8)

    @Test("our raw deflate output inflates with Python's zlib (wbits -15) to the same bytes")
    func pythonInflatesOurs() throws {
        let stream = try #require(try Self.compress(Self.text, capacity: Self.text.count))
        #expect(stream.count < Self.text.count / 10)
        let folder = TemporaryFolder()
        try writeBytes(stream, to: folder.file("s.deflate"))
        let out = try python("import sys, zlib; d = zlib.decompressobj(-15); r = d.decompress(open(sys.argv[1], 'rb').read()); assert d.eof; print(zlib.crc32(r), len(r))", [folder.file("s.deflate")])
        #expect(out == "\(CRC32.checksum(Self.text)) \(Self.text.count)\n")
        #expect(try Self.inflate(stream, size: Self.text.count) == Self.text)
    }

    @Test("we inflate Python's raw deflate streams at every level")
    func weInflatePythons() throws {
        let folder = TemporaryFolder()
        let source = folder.file("in.bin")
        let data = (0..<20000).map { UInt8(truncatingIfNeeded: ($0 * 7919) >> 5) }
        try writeBytes(data, to: source)
        for level in [0, 1, 9] {
            let target = folder.file("l\(level).deflate")
            _ = try python("import sys, zlib; c = zlib.compressobj(\(level), zlib.DEFLATED, -15); open(sys.argv[2], 'wb').write(c.compress(open(sys.argv[1], 'rb').read()) + c.flush())", [source, target])
            #expect(try Self.inflate(readBytes(target), size: data.count) == data, "level \(level)")
        }
    }

    @Test("a stream that is short, long, corrupt or followed by junk is refused, never over-written")
    func refusals() throws {
        let stream = try #require(try Self.compress(Self.text, capacity: Self.text.count))
        #expect(throws: ZlibStream.Failure.self) { try Self.inflate(stream, size: Self.text.count - 1) }  // longer than declared
        #expect(throws: ZlibStream.Failure.self) { try Self.inflate(stream, size: Self.text.count + 1) }  // shorter
        #expect(throws: ZlibStream.Failure.self) { try Self.inflate(Array(stream.dropLast(3)), size: Self.text.count) }
        #expect(throws: ZlibStream.Failure.self) { try Self.inflate(stream + [0], size: Self.text.count) }
        #expect(throws: ZlibStream.Failure.self) { try Self.inflate([0xFF, 0xFF, 0xFF], size: 10) }
        #expect(throws: ZlibStream.Failure.self) { try Self.inflate([], size: 0) }
        #expect(try Self.inflate([0x03, 0x00], size: 0) == [])  // the empty stream
    }

    @Test("streaming inflate hands over the same bytes in bounded pieces and checks the size")
    func streaming() throws {
        let big = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 / 1000) }
        let stream = try #require(try Self.compress(big, capacity: big.count))
        var out: [UInt8] = []
        var largest = 0
        try stream.withUnsafeBytes { input in
            try ZlibStream.inflate(input, size: big.count) { piece in
                largest = max(largest, piece.count)
                out.append(contentsOf: piece)
            }
        }
        #expect(out == big)
        #expect(largest <= 1 << 20)
        #expect(throws: ZlibStream.Failure.self) {
            try stream.withUnsafeBytes { try ZlibStream.inflate($0, size: big.count - 1) { _ in } }
        }
    }

    @Test("compression reports failure when the output would not be smaller than the buffer")
    func incompressible() throws {
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(try Self.compress(noise, capacity: noise.count - 1) == nil)
        #expect(try Self.compress(Self.text, capacity: 8) == nil)
        let roomy = try #require(try Self.compress(noise, capacity: noise.count + 64, pieces: 1))
        #expect(try Self.inflate(roomy, size: noise.count) == noise)
    }
}
