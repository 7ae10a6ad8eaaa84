import CZlib

/// A zlib failure: the return code and zlib's message.
public struct ZlibError: Error, Sendable, CustomStringConvertible {
    /// zlib's return code (`Z_DATA_ERROR`, `Z_MEM_ERROR`, …).
    public var code: Int32
    /// zlib's `msg`, or a description of the code.
    public var message: String

    /// Creates an error.
    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "zlib error \(code): \(message)" }
}

/// What one raw-deflate `Inflater.inflate` call did.
public struct InflateResult: Sendable, Hashable {
    /// Input bytes consumed.
    public var consumed: Int
    /// Output bytes produced (at most the output buffer's size).
    public var produced: Int
    /// True when the deflate stream's final block was reached.
    public var finished: Bool
    /// True when the output buffer filled while the stream still had more to give: the data
    /// inflates beyond the cap the caller set (the decompression-bomb guard).
    public var exceeded: Bool

    /// Creates a result.
    public init(consumed: Int = 0, produced: Int = 0, finished: Bool = false, exceeded: Bool = false) {
        self.consumed = consumed
        self.produced = produced
        self.finished = finished
        self.exceeded = exceeded
    }
}

/// A raw-deflate (windowBits −15, as zip members use) decompressor.
///
/// The `z_stream` is allocated once on the heap and never moves (zlib keeps a pointer to it
/// inside its state); `deinit` calls `inflateEnd`. Input is fed in chunks of at most
/// `UInt32.max` because `avail_in` is 32-bit.
@safe public struct Inflater: ~Copyable {
    private let stream: UnsafeMutablePointer<z_stream>

    /// Calls `inflateInit2_` (through `weightkit_inflateInit2`) with windowBits −15.
    public init() throws(ZlibError) {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        // SAFETY: fresh allocation; a zeroed z_stream means Z_NULL allocators (zlib's defaults).
        unsafe stream.initialize(to: z_stream())
        let code = unsafe weightkit_inflateInit2(stream, -15)
        guard code == Z_OK else {
            unsafe stream.deinitialize(count: 1)
            unsafe stream.deallocate()
            throw ZlibError(code: code, message: "inflateInit2 failed")
        }
        unsafe self.stream = stream
    }

    deinit {
        // SAFETY: stream was initialised by inflateInit2 in init and is owned by self alone.
        unsafe inflateEnd(stream)
        unsafe stream.deinitialize(count: 1)
        unsafe stream.deallocate()
    }

    /// Inflates `input` into `output` (calls `inflate`), stopping at the end of the stream, at
    /// the end of the input, or when `output` is full.
    ///
    /// When `output` fills before the stream ends, one more byte is requested into a scratch
    /// byte so that a stream which ends exactly at the cap is told apart from one that goes on
    /// (`exceeded`); pass `probe: false` to stop at a full buffer without looking further (to
    /// read a prefix and then continue into another buffer). Corrupt data throws.
    public mutating func inflate(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, probe: Bool = true
    ) throws(ZlibError) -> InflateResult {
        var result = InflateResult(consumed: 0, produced: 0, finished: false, exceeded: false)
        let inBase = input.baseAddress, outBase = output.baseAddress
        while true {
            // SAFETY: consumed <= input.count and produced <= output.count are loop invariants;
            // the chunk lengths below never pass those ends.
            let inChunk = min(input.count - result.consumed, Int(UInt32.max))
            let outChunk = min(output.count - result.produced, Int(UInt32.max))
            unsafe stream.pointee.next_in = inBase.map { unsafe UnsafeMutablePointer(mutating: ($0 + result.consumed).assumingMemoryBound(to: Bytef.self)) }
            unsafe stream.pointee.avail_in = UInt32(inChunk)
            unsafe stream.pointee.next_out = outBase.map { unsafe ($0 + result.produced).assumingMemoryBound(to: Bytef.self) }
            unsafe stream.pointee.avail_out = UInt32(outChunk)
            let code = unsafe CZlib.inflate(stream, Z_NO_FLUSH)
            result.consumed += inChunk - Int(unsafe stream.pointee.avail_in)
            result.produced += outChunk - Int(unsafe stream.pointee.avail_out)
            switch code {
            case Z_STREAM_END:
                result.finished = true
                return result
            case Z_OK, Z_BUF_ERROR:
                break
            default:
                throw error(code)
            }
            if result.produced == output.count {
                return probe ? try unsafe probePastEnd(input, result) : result
            }
            if result.consumed == input.count { return result }
            if code == Z_BUF_ERROR { return result }
        }
    }

    /// Asks for one byte beyond a full output buffer: tells "ends exactly here" from "more".
    private mutating func probePastEnd(_ input: UnsafeRawBufferPointer, _ partial: InflateResult) throws(ZlibError) -> InflateResult {
        var result = partial
        var scratch: UInt8 = 0
        let inChunk = min(input.count - result.consumed, Int(UInt32.max))
        // SAFETY: scratch lives for the call; the input range is inside `input`.
        let code = unsafe withUnsafeMutablePointer(to: &scratch) { byte in
            unsafe stream.pointee.next_in = input.baseAddress.map { unsafe UnsafeMutablePointer(mutating: ($0 + result.consumed).assumingMemoryBound(to: Bytef.self)) }
            unsafe stream.pointee.avail_in = UInt32(inChunk)
            unsafe stream.pointee.next_out = byte
            unsafe stream.pointee.avail_out = 1
            let code = unsafe CZlib.inflate(stream, Z_NO_FLUSH)
            unsafe stream.pointee.next_out = nil
            return code
        }
        result.consumed += inChunk - Int(unsafe stream.pointee.avail_in)
        let extra = 1 - Int(unsafe stream.pointee.avail_out)
        switch code {
        case Z_STREAM_END:
            result.finished = extra == 0
            result.exceeded = extra > 0
        case Z_OK, Z_BUF_ERROR:
            result.exceeded = extra > 0
        default:
            throw error(code)
        }
        return result
    }

    private func error(_ code: Int32) -> ZlibError {
        let text = unsafe stream.pointee.msg.map { unsafe String(cString: $0) } ?? "code \(code)"
        return ZlibError(code: code, message: text)
    }
}

/// A raw-deflate (windowBits −15) compressor that streams its output to a sink.
///
/// The `z_stream` is heap-allocated once and never moves; `deinit` calls `deflateEnd`.
@safe public struct Deflater: ~Copyable {
    private let stream: UnsafeMutablePointer<z_stream>
    private let scratch: AlignedBuffer
    /// Bytes of compressed output produced so far.
    public private(set) var totalOut = 0

    /// Output buffer size handed to `deflate` per call.
    public static let scratchBytes = 256 << 10

    /// Calls `deflateInit2_` (through `weightkit_deflateInit2`) at `level` (−1 = zlib's default, 6).
    public init(level: Int32 = -1) throws(ZlibError) {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        // SAFETY: fresh allocation; zeroed allocators mean zlib's defaults.
        unsafe stream.initialize(to: z_stream())
        let code = unsafe weightkit_deflateInit2(stream, level, -15)
        guard code == Z_OK else {
            unsafe stream.deinitialize(count: 1)
            unsafe stream.deallocate()
            throw ZlibError(code: code, message: "deflateInit2 failed")
        }
        unsafe self.stream = stream
        scratch = AlignedBuffer(count: Self.scratchBytes)
    }

    deinit {
        // SAFETY: stream was initialised by deflateInit2 and is owned by self alone.
        unsafe deflateEnd(stream)
        unsafe stream.deinitialize(count: 1)
        unsafe stream.deallocate()
    }

    /// Compresses `input` (calls `deflate`), handing every full or final output chunk to `sink`;
    /// with `finish` the stream is ended and flushed.
    public mutating func compress(
        _ input: UnsafeRawBufferPointer, finish: Bool, _ sink: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var consumed = 0
        repeat {
            let inChunk = min(input.count - consumed, Int(UInt32.max))
            let last = consumed + inChunk == input.count
            let flush = finish && last ? Z_FINISH : Z_NO_FLUSH
            // SAFETY: [consumed, consumed+inChunk) lies inside input.
            unsafe stream.pointee.next_in = input.baseAddress.map { unsafe UnsafeMutablePointer(mutating: ($0 + consumed).assumingMemoryBound(to: Bytef.self)) }
            unsafe stream.pointee.avail_in = UInt32(inChunk)
            var code: Int32
            repeat {
                code = try unsafe scratch.withUnsafeMutableBytes { out in
                    // SAFETY: out is the scratch buffer, alive for this closure.
                    unsafe stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    unsafe stream.pointee.avail_out = UInt32(out.count)
                    let code = unsafe deflate(stream, flush)
                    let produced = out.count - Int(unsafe stream.pointee.avail_out)
                    if produced > 0 { try unsafe sink(UnsafeRawBufferPointer(start: out.baseAddress, count: produced)) }
                    totalOut += produced
                    return code
                }
                guard code == Z_OK || code == Z_STREAM_END || code == Z_BUF_ERROR else {
                    let text = unsafe stream.pointee.msg.map { unsafe String(cString: $0) } ?? "code \(code)"
                    throw ZlibError(code: code, message: text)
                }
            } while unsafe stream.pointee.avail_out == 0 || (flush == Z_FINISH && code != Z_STREAM_END)
            consumed += inChunk
        } while consumed < input.count
    }
}
