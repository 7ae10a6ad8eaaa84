import WeightKitCore

/// Groups tensor names so a 300-tensor model reads as a dozen lines: repeated blocks
/// (`model.layers.N.…`) that have the same tensors with the same dtypes and shapes collapse to
/// one group (`model.layers.{0–29} (30×): 9 tensors each`).
public struct LayerSummary: Sendable {
    /// One line of the summary.
    public enum Entry: Sendable {
        /// A tensor outside any repeated block.
        case tensor(TensorInfo)
        /// A run of consecutive block indices with identical contents.
        case group(Group)
    }

    /// Consecutive blocks `prefix.{first…last}` sharing `members` (names relative to the block).
    public struct Group: Sendable {
        /// The part of the name before the block index (`model.layers`).
        public var prefix: String
        /// Block indices, ascending.
        public var indices: [Int]
        /// The tensors of one block, names relative to `prefix.N.`.
        public var members: [TensorInfo]
        /// `model.layers.{0–29}` or `model.layers.7` for a single block.
        public var label: String {
            guard let first = indices.first, let last = indices.last else { return prefix }
            return first == last ? "\(prefix).\(first)" : "\(prefix).{\(first)–\(last)}"
        }
    }

    /// Lines in natural name order.
    public var entries: [Entry]

    /// Builds the summary of `tensors`.
    public init(tensors: [TensorInfo]) {
        struct Block { var members: [TensorInfo] = [] }
        var loose: [TensorInfo] = []
        var blocks: [String: [Int: Block]] = [:]
        for t in tensors {
            let parts = t.name.split(separator: ".", omittingEmptySubsequences: false)
            if let k = parts.firstIndex(where: { !$0.isEmpty && $0.allSatisfy(\.isNumber) }), k > 0, k < parts.count - 1,
                let index = Int(parts[k])
            {
                let prefix = parts[..<k].joined(separator: ".")
                var member = t
                member.name = parts[(k + 1)...].joined(separator: ".")
                blocks[prefix, default: [:]][index, default: Block()].members.append(member)
            } else {
                loose.append(t)
            }
        }
        var items: [(key: String, entry: Entry)] = loose.map { ($0.name, .tensor($0)) }
        for (prefix, byIndex) in blocks {
            var current: Group?
            for index in byIndex.keys.sorted() {
                let members = byIndex[index]!.members.sorted { naturalLess($0.name, $1.name) }
                if var group = current, group.indices.last == index - 1, Self.same(group.members, members) {
                    group.indices.append(index)
                    current = group
                } else {
                    if let group = current { items.append(("\(prefix).\(group.indices[0])", .group(group))) }
                    current = Group(prefix: prefix, indices: [index], members: members)
                }
            }
            if let group = current { items.append(("\(prefix).\(group.indices[0])", .group(group))) }
        }
        entries = items.sorted { naturalLess($0.key, $1.key) }.map(\.entry)
    }

    static func same(_ a: [TensorInfo], _ b: [TensorInfo]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.dtype == $1.dtype && $0.shape == $1.shape }
    }

}

/// Compares names with embedded numbers by value: `layers.2` before `layers.10`.
public func naturalLess(_ a: String, _ b: String) -> Bool {
    var i = a.unicodeScalars.makeIterator(), j = b.unicodeScalars.makeIterator()
    var x = i.next(), y = j.next()
    while let p = x, let q = y {
        if p.properties.numericType != nil, q.properties.numericType != nil,
            p.value >= 48, p.value <= 57, q.value >= 48, q.value <= 57
        {
            var n = 0, m = 0, dn = 0, dm = 0
            while let c = x, c.value >= 48, c.value <= 57 { n = n &* 10 &+ Int(c.value - 48); dn += 1; x = i.next() }
            while let c = y, c.value >= 48, c.value <= 57 { m = m &* 10 &+ Int(c.value - 48); dm += 1; y = j.next() }
            if n != m { return n < m }
            if dn != dm { return dn < dm }
            continue
        }
        if p != q { return p.value < q.value }
        x = i.next()
        y = j.next()
    }
    return x == nil && y != nil
}
