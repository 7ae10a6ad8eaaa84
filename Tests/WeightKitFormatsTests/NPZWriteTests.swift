import Foundation
import Testing
import WeightKitCore
@testable import WeightKitFormats
import WeightKitTestSupport

@Suite("npz writer")
struct NPZWriteTests {
    func payloads(_ source: any TensorSource) throws -> [TensorPayload] {
        try source.tensors.map { try TensorPayload(source: source, input: $0) }
    }

    @Test("stored, deflated and forced-zip64 archives are read by numpy.load with identical values",
          arguments: [(false, false), (true, false), (false, true), (true, true)])
    func numpyReadsOurArchives(_ compress: Bool, _ zip64: Bool) throws {
        let dir = TemporaryFolder()
        for fixtureName in ["all_dtypes.npz", "mixed.npz"] {
            let source = try NPZArchive(path: fixture("numpy/" + fixtureName))
            let out = dir.file("out-\(fixtureName)")
            let report = try NPZWriter.write(
                try payloads(source), metadata: Metadata(), to: out, options: WriteOptions(compress: compress), forceZip64: zip64)
            #expect(report.files == [out])
            #expect(try python(numpyDigest, [out]) == digest(source), "\(fixtureName) compress=\(compress) zip64=\(zip64)")
            let back = try NPZArchive(path: out)
            #expect(try digest(back) == digest(source))
            #expect(back.members.allSatisfy { $0.entry.isStored == !compress })
            let zipInfo = try python("""
                import sys, zipfile
                z = zipfile.ZipFile(sys.argv[1]); z.testzip()
                print(sorted(set(i.compress_type for i in z.infolist())), b"PK\\x06\\x06" in open(sys.argv[1], "rb").read())
                """, [out])
            #expect(zipInfo == "[\(compress ? 8 : 0)] \(zip64 ? "True" : "False")\n")
        }
    }

    @Test("stored members' array data is 64-byte aligned in the archive and read zero-copy")
    func alignment() throws {
        let dir = TemporaryFolder()
        let source = try NPZArchive(path: fixture("numpy/all_dtypes.npz"))
        let out = dir.file("aligned.npz")
        _ = try NPZWriter.write(try payloads(source), metadata: Metadata(), to: out)
        let back = try NPZArchive(path: out)
        for t in back.tensors {
            #expect(t.fileOffset.map { $0 % 64 == 0 } == true, "\(t.name)")
            #expect(try back.storage(of: t).isMapped)
        }
    }

    @Test("metadata has no place in an npz and is reported as dropped")
    func droppedMetadata() throws {
        let dir = TemporaryFolder()
        let source = MemorySource([("w", .float32, [1], [0, 0, 128, 63])], metadata: Metadata(strings: [("format", "pt"), ("author", "x")]))
        let report = try NPZWriter.write(try source.payloads(), metadata: source.metadata, to: dir.file("m.npz"))
        #expect(report.droppedMetadata == ["format", "author"])
    }

    @Test("a compressed archive of compressible data is smaller, and numpy agrees on its values")
    func compression() throws {
        let dir = TemporaryFolder()
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        let source = MemorySource([("zeros", .float32, [1 << 18], zeros)])
        let stored = dir.file("s.npz"), deflated = dir.file("d.npz")
        _ = try NPZWriter.write(try source.payloads(), metadata: Metadata(), to: stored)
        _ = try NPZWriter.write(try source.payloads(), metadata: Metadata(), to: deflated, options: WriteOptions(compress: true))
        #expect(try readBytes(deflated).count < 10_000 && readBytes(stored).count > 1 << 20)
        #expect(try python(numpyDigest, [deflated]) == digest(source))
    }

    @Test("inflate and deflate round-trip, and the inflate cap reports overflow")
    func zlibRoundTrip() throws {
        let input = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 7 / 3) }
        var compressed: [UInt8] = []
        var deflater = try Deflater()
        try input.withUnsafeBytes { raw in
            try deflater.compress(raw, finish: true) { compressed += Array($0) }
        }
        for cap in [input.count, input.count - 1, input.count + 1] {
            var out = [UInt8](repeating: 0, count: cap)
            var inflater = try Inflater()
            let result = try compressed.withUnsafeBytes { src in
                try out.withUnsafeMutableBytes { dst in try inflater.inflate(src, into: dst) }
            }
            #expect(result.exceeded == (cap < input.count), "cap \(cap)")
            #expect(result.finished == (cap >= input.count), "cap \(cap)")
            #expect(Array(out.prefix(min(cap, input.count))) == Array(input.prefix(cap)))
        }
    }
}
