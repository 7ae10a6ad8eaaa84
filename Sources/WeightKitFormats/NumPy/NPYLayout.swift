import WeightKitCore

/// Brings `.npy` data into native little-endian C order: byte-swaps big-endian elements and
/// transposes Fortran-ordered arrays. Data already in that layout stays a zero-copy view.
enum NPYLayout {
    /// Storage for the data of `header` at `range` of `file`: the mapped view itself when the
    /// layout is native, else an owned copy in native C order.
    static func storage(_ header: NPYHeader, file: MappedFile, range: Range<Int>) -> TensorStorage {
        if header.isNativeLayout { return TensorStorage(file: file, range: range) }
        let buffer = AlignedBuffer(count: range.count)
        unsafe file.withUnsafeBytes(in: range) { src in
            unsafe buffer.withUnsafeMutableBytes { dst in unsafe toNative(header, src, dst) }
        }
        return TensorStorage(buffer: buffer)
    }

    /// Storage for data already copied into `buffer` (an inflated member): rearranged in place
    /// of a new buffer when needed.
    static func storage(_ header: NPYHeader, owned buffer: AlignedBuffer) -> TensorStorage {
        if header.isNativeLayout { return TensorStorage(buffer: buffer) }
        let out = AlignedBuffer(count: buffer.count)
        unsafe buffer.withUnsafeBytes { src in
            unsafe out.withUnsafeMutableBytes { dst in unsafe toNative(header, src, dst) }
        }
        return TensorStorage(buffer: out)
    }

    /// Copies `src` (stored as `header` says) into `dst` in native C order.
    static func toNative(_ header: NPYHeader, _ src: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer) {
        precondition(src.count == header.dataByteCount && dst.count == src.count, "npy layout buffer sizes")
        switch header.dtype.blockBytes {
        case 1: unsafe rearrange(UInt8.self, header, src, dst)
        case 2: unsafe rearrange(UInt16.self, header, src, dst)
        case 4: unsafe rearrange(UInt32.self, header, src, dst)
        default: unsafe rearrange(UInt64.self, header, src, dst)
        }
    }

    /// Element-wise copy with optional byte swap; a Fortran-ordered array is read at its
    /// column-major offsets while writing in row-major order.
    static func rearrange<T: FixedWidthInteger>(
        _: T.Type, _ header: NPYHeader, _ src: UnsafeRawBufferPointer, _ dst: UnsafeMutableRawBufferPointer
    ) {
        let swap = header.bigEndian
        let count = header.shape.elementCount ?? 0
        guard count > 0, let inBase = src.baseAddress, let outBase = dst.baseAddress else { return }
        let width = MemoryLayout<T>.size
        @inline(__always) func move(_ from: Int, _ to: Int) {
            // SAFETY: from and to are element indices < count; both buffers hold count elements.
            let v = unsafe inBase.loadUnaligned(fromByteOffset: from * width, as: T.self)
            unsafe (outBase + to * width).storeBytes(of: swap ? v.byteSwapped : v, as: T.self)
        }
        let dims = header.shape.dims
        guard header.fortranOrder, dims.count > 1 else {
            for i in 0..<count { move(i, i) }
            return
        }
        // Column-major strides in elements: stride[0] = 1, stride[k] = stride[k-1] * dims[k-1].
        var strides = [Int](repeating: 1, count: dims.count)
        for k in 1..<dims.count { strides[k] = strides[k - 1] * dims[k - 1] }
        let last = dims.count - 1
        let inner = dims[last], innerStride = strides[last]
        var index = [Int](repeating: 0, count: last)  // odometer over the outer dims, C order
        var base = 0
        var out = 0
        while out < count {
            var from = base
            for _ in 0..<inner {
                move(from, out)
                from += innerStride
                out += 1
            }
            var k = last - 1
            while k >= 0 {
                index[k] += 1
                base += strides[k]
                if index[k] < dims[k] { break }
                base -= strides[k] * dims[k]
                index[k] = 0
                k -= 1
            }
        }
    }
}
