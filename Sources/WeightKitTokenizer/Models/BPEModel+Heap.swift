extension BPEModel {
    /// The priority-queue merge for long words: O(n log n) instead of O(n²) per word.
    ///
    /// Symbols form a linked list over their original positions; the heap holds
    /// `(rank << 32 | position)` so the lowest rank pops first and ties go to the leftmost pair.
    /// Entries made stale by earlier merges are skipped when popped.
    func mergeWithHeap(_ symbols: inout [Int32]) {
        let n = symbols.count
        var ids = symbols
        var next = Array(1...n)  // n means "none"
        var prev = Array(-1..<(n - 1))
        var heap = MinHeap()
        for i in 0..<(n - 1) {
            if let m = pairMerge(ids[i], ids[i + 1]) { heap.push(UInt64(m.rank) << 32 | UInt64(i)) }
        }
        while let top = heap.pop() {
            let pos = Int(top & 0xFFFF_FFFF)
            let rank = UInt32(top >> 32)
            guard ids[pos] >= 0, next[pos] < n else { continue }
            let right = next[pos]
            guard let m = pairMerge(ids[pos], ids[right]), m.rank == rank else { continue }
            ids[pos] = m.id
            ids[right] = -1
            next[pos] = next[right]
            if next[pos] < n { prev[next[pos]] = pos }
            if prev[pos] >= 0, let l = pairMerge(ids[prev[pos]], ids[pos]) {
                heap.push(UInt64(l.rank) << 32 | UInt64(prev[pos]))
            }
            if next[pos] < n, let r = pairMerge(ids[pos], ids[next[pos]]) {
                heap.push(UInt64(r.rank) << 32 | UInt64(pos))
            }
        }
        symbols = ids.filter { $0 >= 0 }
    }

    @inline(__always) private func pairMerge(_ a: Int32, _ b: Int32) -> (rank: UInt32, id: Int32)? {
        guard let v = merges[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))] else { return nil }
        return (UInt32(v >> 32), Int32(truncatingIfNeeded: v & 0xFFFF_FFFF))
    }
}

/// A binary min-heap of `UInt64` keys.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ x: UInt64) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= items[i] { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l] < items[m] { m = l }
                if r < items.count && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}
