import CWeightKitKernels
import WeightKitCore

/// Value counts of one tensor, gathered in f32 chunks.
struct ValueScan: Equatable {
    var count = 0
    var nan = 0
    var inf = 0
    var nonZero = 0
    var maxAbs: Float = 0
    /// Finite values beyond the magnitude limit.
    var beyondLimit = 0
    /// Finite values beyond the `--for-dtype` maximum (they would become ±Inf).
    var beyondTarget = 0

    /// Counts `values` (C, `wk_scan_f32`: branch-free integer vector code over the bit patterns).
    mutating func add(_ values: UnsafeBufferPointer<Float>, limit: Float, targetMax: Float) {
        guard let base = values.baseAddress, !values.isEmpty else { return }
        var counts = wk_value_scan()
        // SAFETY: base points at values.count live floats.
        unsafe wk_scan_f32(base, values.count, limit, targetMax, &counts)
        nan += counts.nan
        inf += counts.inf
        nonZero += counts.nonzero
        beyondLimit += counts.beyond_limit
        beyondTarget += counts.beyond_target
        maxAbs = max(maxAbs, Float(bitPattern: counts.max_abs_bits))
        count += values.count
    }

    /// The same counts one value at a time in Swift: the reference `add` is tested against.
    mutating func addReference(_ values: UnsafeBufferPointer<Float>, limit: Float, targetMax: Float) {
        for x in values {
            if x.isNaN { nan += 1; continue }
            if x.isInfinite { inf += 1; continue }
            let a = abs(x)
            if a != 0 { nonZero += 1 }
            if a > maxAbs { maxAbs = a }
            if a > limit { beyondLimit += 1 }
            if a > targetMax { beyondTarget += 1 }
        }
        count += values.count
    }
}

extension Validator {
    /// Largest finite value of each cast target `--for-dtype` accepts (f32 has nothing to lose).
    static func largestFinite(_ dtype: DType?) -> Float {
        switch dtype {
        case .float16?: return 65504
        case .bfloat16?: return Float(bitPattern: 0x7F7F_0000)
        default: return .greatestFiniteMagnitude
        }
    }

    /// NaN/Inf (errors), all-zero tensors, extreme magnitudes and cast overflow (warnings).
    /// Integer and bool tensors are not scanned; block-quantized ones are dequantized first.
    static func numericFindings(
        source: any TensorSource, tensor: TensorInfo, storage: TensorStorage, options: ValidationOptions
    ) throws -> [ValidationFinding] {
        guard tensor.dtype.isFloatingPoint || tensor.dtype.isQuantized, tensor.elementCount > 0 else { return [] }
        var floats = storage
        var dtype = tensor.dtype
        if dtype.isQuantized {
            let entry = try TransformedTensorSource.entry(input: tensor, name: tensor.name, steps: [.dequantize])
            floats = try TransformedTensorSource(base: source, entries: [entry]).storage(of: entry.output)
            dtype = .float32
        }
        guard ElementConversion.canConvert(from: dtype, to: .float32),
              floats.count >= tensor.elementCount * dtype.blockBytes else { return [] }
        let scan = Self.scan(floats, dtype: dtype, count: tensor.elementCount, options: options)
        return findings(scan, tensor: tensor, options: options)
    }

    static func scan(_ storage: TensorStorage, dtype: DType, count: Int, options: ValidationOptions) -> ValueScan {
        var scan = ValueScan()
        let limit = Float(options.magnitudeLimit), targetMax = largestFinite(options.forDType)
        storage.withUnsafeBytes { raw in
            // f32 in place when aligned (mapped files are; a copy would double the memory traffic).
            if dtype == .float32, Int(bitPattern: raw.baseAddress) % MemoryLayout<Float>.alignment == 0 {
                // SAFETY: the caller checked raw holds count f32 values; the address is aligned for Float.
                unsafe scan.add(UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: Float.self), count: count), limit: limit, targetMax: targetMax)
                return
            }
            let chunk = 1 << 16
            var buffer = [Float](repeating: 0, count: min(chunk, count))
            var done = 0
            while done < count {
                let n = min(chunk, count - done)
                buffer.withUnsafeMutableBufferPointer { dst in
                    // SAFETY: the caller checked raw holds count elements; n from `done` are inside.
                    ElementConversion.convert(
                        raw.baseAddress! + done * dtype.blockBytes, from: dtype, to: .float32,
                        into: UnsafeMutableRawPointer(dst.baseAddress!), count: n)
                    scan.add(UnsafeBufferPointer(rebasing: dst[0..<n]), limit: limit, targetMax: targetMax)
                }
                done += n
            }
        }
        return scan
    }

    static func findings(_ scan: ValueScan, tensor: TensorInfo, options: ValidationOptions) -> [ValidationFinding] {
        var out: [ValidationFinding] = []
        let name = tensor.name, total = scan.count
        // NaN poisons every sum it enters: an error. ±Inf can be deliberate (attention masks): a warning.
        if scan.nan > 0 {
            out.append(ValidationFinding(.error, .numerics, "\(scan.nan) NaN values among \(total)", tensorName: name))
        }
        if scan.inf > 0 {
            out.append(ValidationFinding(.warning, .numerics, "\(scan.inf) ±Inf values among \(total)", tensorName: name))
        }
        if scan.nonZero == 0 && scan.nan == 0 && scan.inf == 0 {
            out.append(ValidationFinding(.warning, .numerics, "all \(total) values are zero", tensorName: name))
        }
        if scan.beyondLimit > 0, tensor.shape.rank >= 2 || name.hasSuffix("weight") {
            out.append(ValidationFinding(
                .warning, .numerics,
                "\(scan.beyondLimit) values exceed |x| > \(options.magnitudeLimit) (max |x| = \(scan.maxAbs))", tensorName: name))
        }
        if scan.beyondTarget > 0, let target = options.forDType {
            out.append(ValidationFinding(
                .warning, .numerics,
                "\(scan.beyondTarget) values exceed \(target.shortName)'s largest finite value \(largestFinite(target)) and would become ±Inf (max |x| = \(scan.maxAbs))",
                tensorName: name))
        }
        return out
    }
}
