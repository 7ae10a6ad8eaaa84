/// A tensor's dimensions, outermost first (row-major, as numpy and safetensors present them).
public struct Shape: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    /// Dimension sizes, outermost first; empty for a scalar.
    public var dims: [Int]

    /// Creates a shape from dimension sizes, outermost first.
    public init(_ dims: [Int]) { self.dims = dims }

    /// Creates a shape from an array literal: `[2, 3]`.
    public init(arrayLiteral elements: Int...) { self.dims = elements }

    /// Number of dimensions (0 for a scalar).
    public var rank: Int { dims.count }

    /// The product of the dimensions, or nil when it overflows `Int` or a dimension is negative.
    public var elementCount: Int? {
        var total = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (p, overflow) = total.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            total = p
        }
        return total
    }

    /// Bytes needed to store this shape as `dtype`, or nil on overflow or a partial block.
    public func byteCount(of dtype: DType) -> Int? {
        guard let n = elementCount else { return nil }
        return dtype.byteCount(elements: n)
    }

    /// `[2, 3]`, `[]` for a scalar.
    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }
}
