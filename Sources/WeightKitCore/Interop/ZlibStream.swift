import CZlib

/// Raw DEFLATE (RFC 1951, zlib `windowBits` −15: no zlib or gzip wrapper) into and out of
/// caller-sized buffers, for the pack's per-tensor compression.
///
/// Each `z_stream` is allocated once on the heap and never moved (zlib keeps a pointer back to
/// it), owned by a `~Copyable` holder that ends it in `deinit`. Input and output are fed in
/// chunks of at most `UInt32.max` bytes, since `avail_in`/`avail_out` are 32-bit. Inflation is
/// capped at the size the caller declares, so a hostile stream cannot allocate or write more.
public enum ZlibStream {
    /// A failure from zlib, or a stream that does not decode to the declared size.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// zlib's return code (`Z_DATA_ERROR`, …), or 0 for a size disagreement.
        public var code: Int32
        /// What went wrong.
        public var message: String
        /// The message.
        public var description: String { message }
    }

    /// Largest chunk handed to zlib in one call (its counters are 32-bit).
    static let maxChunk = Int(UInt32.max)

    /// A heap-allocated `z_stream` that never moves; ends the stream and frees it in `deinit`.
    @safe struct Box: ~Copyable {
        let stream: UnsafeMutablePointer<z_stream>
        let deflating: Bool

        /// Calls `deflateInit2_` (through `weightkit_deflateInit2`) or `inflateInit2_`.
        init(deflateLevel level: Int32?) throws(Failure) {
            let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            // SAFETY: fresh allocation; zlib requires zalloc/zfree/opaque zeroed (Z_NULL).
            unsafe z.initialize(to: z_stream())
            let status: Int32
            if let level {
                status = unsafe weightkit_deflateInit2(z, level, -15)
            } else {
                status = unsafe weightkit_inflateInit2(z, -15)
            }
            guard status == Z_OK else {
                unsafe z.deinitialize(count: 1)
                unsafe z.deallocate()
                throw Failure(code: status, message: "zlib could not start a stream (code \(status))")
            }
            unsafe stream = z
            deflating = level != nil
        }

        deinit {
            // SAFETY: the stream was initialised by init and is ended exactly once here.
            if deflating { unsafe deflateEnd(stream) } else { unsafe inflateEnd(stream) }
            unsafe stream.deinitialize(count: 1)
            unsafe stream.deallocate()
        }

        /// zlib's message for the last error, or a generic one.
        func message(_ code: Int32) -> String {
            if let text = unsafe stream.pointee.msg { return unsafe String(cString: text) }
            return "zlib error \(code)"
        }
    }

    /// Inflates the raw DEFLATE stream `input` into `output`, which it must fill exactly.
    ///
    /// Throws when the stream is corrupt, ends before `output` is full, would produce more than
    /// `output.count` bytes, or is followed by extra bytes. Calls `inflate`.
    public static func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(Failure) {
        try unsafe inflate(input, size: output.count, window: { produced in
            unsafe UnsafeMutableRawBufferPointer(rebasing: output[produced...])
        }, emitted: { _, _ in })
    }

    /// Inflates `input`, which must decode to exactly `size` bytes, handing the output to `sink`
    /// in order, in pieces of at most 1 MiB: memory stays bounded whatever `size` claims.
    /// Throws as `inflate(_:into:)` does.
    public static func inflate(
        _ input: UnsafeRawBufferPointer, size: Int, sink: (UnsafeRawBufferPointer) -> Void
    ) throws(Failure) {
        let scratch = AlignedBuffer(count: 1 << 20)
        try unsafe scratch.withUnsafeMutableBytes { buffer throws(Failure) in
            try unsafe inflate(input, size: size, window: { _ in unsafe buffer }, emitted: { piece, count in
                unsafe sink(UnsafeRawBufferPointer(rebasing: piece[0..<count]))
            })
        }
    }

    /// The inflate loop: `window(produced)` says where the next output goes (at most
    /// `size - produced` of it is used); `emitted(window, count)` is told what was written there.
    static func inflate(
        _ input: UnsafeRawBufferPointer, size: Int,
        window: (Int) -> UnsafeMutableRawBufferPointer,
        emitted: (UnsafeMutableRawBufferPointer, Int) -> Void
    ) throws(Failure) {
        let box = try Box(deflateLevel: nil)
        let z = unsafe box.stream
        var consumed = 0, produced = 0
        var scratch: UInt8 = 0
        while true {
            let inChunk = min(input.count - consumed, maxChunk)
            // Once `size` bytes are out, offer one scratch byte: zlib must then report the end.
            let full = produced == size
            let target = unsafe full ? UnsafeMutableRawBufferPointer(start: nil, count: 0) : window(produced)
            let outChunk = full ? 1 : min(target.count, size - produced, maxChunk)
            // SAFETY: next_in/next_out point inside the caller's live buffers (or at `scratch`),
            // with avail counts that stay within them; zlib reads and writes only that much.
            unsafe z.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?
                .advanced(by: consumed).assumingMemoryBound(to: UInt8.self))
            unsafe z.pointee.avail_in = UInt32(inChunk)
            let status: Int32 = unsafe withUnsafeMutablePointer(to: &scratch) { one in
                unsafe z.pointee.next_out = full ? one : target.baseAddress?.assumingMemoryBound(to: UInt8.self)
                unsafe z.pointee.avail_out = UInt32(outChunk)
                return unsafe CZlib.inflate(z, Z_NO_FLUSH)
            }
            let usedIn = inChunk - Int(unsafe z.pointee.avail_in)
            let usedOut = outChunk - Int(unsafe z.pointee.avail_out)
            consumed += usedIn
            if full, usedOut > 0 {
                throw Failure(code: 0, message: "deflate stream inflates to more than the declared \(size) bytes")
            }
            if !full, usedOut > 0 {
                unsafe emitted(target, usedOut)
                produced += usedOut
            }
            switch status {
            case Z_STREAM_END:
                guard produced == size else {
                    throw Failure(code: 0, message: "deflate stream inflates to \(produced) bytes, \(size) declared")
                }
                guard consumed == input.count else {
                    throw Failure(code: 0, message: "\(input.count - consumed) bytes follow the end of the deflate stream")
                }
                return
            case Z_OK, Z_BUF_ERROR:
                if usedIn == 0, usedOut == 0 {
                    throw Failure(code: Z_BUF_ERROR, message: "deflate stream ends early after \(produced) of \(size) bytes")
                }
            case Z_NEED_DICT:
                throw Failure(code: status, message: "deflate stream needs a preset dictionary")
            default:
                throw Failure(code: status, message: "corrupt deflate stream: \(box.message(status))")
            }
        }
    }

    /// Compresses bytes into a fixed-capacity buffer; gives up (returns false) once the output
    /// would not fit, which tells a writer that compression does not pay.
    public struct Compressor: ~Copyable {
        private let box: Box
        private let output: AlignedBuffer
        /// Bytes of compressed output so far.
        public private(set) var produced = 0

        /// A compressor at zlib `level` (0–9, −1 for zlib's default 6) writing into `output`.
        /// Calls `deflateInit2_` with windowBits −15.
        public init(level: Int32 = -1, output: AlignedBuffer) throws(Failure) {
            box = try Box(deflateLevel: level)
            self.output = output
        }

        /// Compresses `input`; false when the output buffer filled up.
        public mutating func compress(_ input: UnsafeRawBufferPointer) -> Bool {
            var consumed = 0
            repeat {
                let inChunk = min(input.count - consumed, maxChunk)
                guard let (usedIn, status) = unsafe run(input, from: consumed, count: inChunk, flush: Z_NO_FLUSH) else { return false }
                guard status == Z_OK || status == Z_BUF_ERROR else { return false }
                consumed += usedIn
            } while consumed < input.count
            return true
        }

        /// Flushes the stream's end; false when the output buffer filled up first.
        public mutating func finish() -> Bool {
            while true {
                guard let (_, status) = unsafe run(UnsafeRawBufferPointer(start: nil, count: 0), from: 0, count: 0, flush: Z_FINISH) else {
                    return false
                }
                if status == Z_STREAM_END { return true }
                guard status == Z_OK else { return false }
            }
        }

        /// One `deflate` call; nil when there is no room left for output.
        private mutating func run(
            _ input: UnsafeRawBufferPointer, from start: Int, count: Int, flush: Int32
        ) -> (Int, Int32)? {
            let room = output.count - produced
            guard room > 0 else { return nil }
            let outChunk = min(room, maxChunk)
            let z = unsafe box.stream
            let before = produced
            let status: Int32 = unsafe output.withUnsafeMutableBytes { out in
                // SAFETY: next_in covers `count` bytes of the caller's buffer from `start`;
                // next_out covers `outChunk` free bytes of `output`, which self keeps alive.
                unsafe z.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?
                    .advanced(by: start).assumingMemoryBound(to: UInt8.self))
                unsafe z.pointee.avail_in = UInt32(count)
                unsafe z.pointee.next_out = out.baseAddress!.advanced(by: before).assumingMemoryBound(to: UInt8.self)
                unsafe z.pointee.avail_out = UInt32(outChunk)
                return unsafe deflate(z, flush)
            }
            produced += outChunk - Int(unsafe z.pointee.avail_out)
            return (count - Int(unsafe z.pointee.avail_in), status)
        }
    }
}
