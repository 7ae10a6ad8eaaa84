import Synchronization
import WeightKitCore

/// Byte-pair encoding as `tokenizers` runs it: split a word into characters, look each up (byte
/// fallback `<0xNN>` or `unk` when absent), then repeatedly merge the adjacent pair with the
/// lowest merge rank, leftmost first.
struct BPEModel: TokenModel {
    /// Token → id.
    let vocab: [ExactString: Int]
    /// Id → token ("" for unused ids).
    let tokens: [String]
    /// `(left id << 32 | right id)` → `(rank << 32 | merged id)`.
    let merges: [UInt64: UInt64]
    let unkId: Int?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let continuingSubwordPrefix: String?
    let endOfWordSuffix: String?
    /// Ids of single-character tokens below U+0800 (-1 when absent), the fast path for the
    /// initial split.
    private let smallScalarIds: [Int32]
    /// Ids of `<0x00>`…`<0xFF>` when all exist.
    private let byteIds: [Int]?
    private let cache = WordCache()

    /// The largest merge list accepted: as many merges as the largest vocabulary.
    static let maxMerges = maxVocabularySize

    /// A model from plain values (what tokenizer.json and GGUF metadata both reduce to).
    init(
        vocab: [ExactString: Int], tokens: [String], merges: [(String, String)], unkToken: String?,
        fuseUnk: Bool, byteFallback: Bool, ignoreMerges: Bool,
        continuingSubwordPrefix: String? = nil, endOfWordSuffix: String? = nil, field: String = "model.merges"
    ) throws(TokenizerError) {
        self.vocab = vocab
        self.tokens = tokens
        guard merges.count <= Self.maxMerges else {
            throw TokenizerError(.limitExceeded, "\(merges.count) merges exceed the limit of \(Self.maxMerges)", field: field)
        }
        let prefixCount = continuingSubwordPrefix?.unicodeScalars.count ?? 0
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let left = vocab[ExactString(a)], let right = vocab[ExactString(b)] else {
                throw TokenizerError(.invalidValue, "merge \"\(a) \(b)\" uses a token that is not in the vocabulary", field: "\(field)[\(rank)]")
            }
            let merged = a + (prefixCount > 0 ? String(String.UnicodeScalarView(b.unicodeScalars.dropFirst(prefixCount))) : b)
            guard let mergedId = vocab[ExactString(merged)] else {
                throw TokenizerError(.invalidValue, "merge \"\(a) \(b)\" makes \"\(merged)\", which is not in the vocabulary", field: "\(field)[\(rank)]")
            }
            table[UInt64(left) << 32 | UInt64(right)] = UInt64(rank) << 32 | UInt64(mergedId)
        }
        self.merges = table
        if let unkToken {
            guard let id = vocab[ExactString(unkToken)] else {
                throw TokenizerError(.invalidValue, "unk_token \"\(unkToken)\" is not in the vocabulary", field: "model.unk_token")
            }
            unkId = id
        } else {
            unkId = nil
        }
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.endOfWordSuffix = endOfWordSuffix
        var small = [Int32](repeating: -1, count: 0x800)
        for (token, id) in vocab {
            var it = token.string.unicodeScalars.makeIterator()
            if let s = it.next(), it.next() == nil, s.value < 0x800 { small[Int(s.value)] = Int32(id) }
        }
        smallScalarIds = small
        let bytes = (0..<256).compactMap { vocab[ExactString(Self.byteToken(UInt8($0)))] }
        byteIds = bytes.count == 256 ? bytes : nil
    }

    /// `<0x41>`: the byte-fallback token for a byte.
    static func byteToken(_ b: UInt8) -> String {
        let hex = Array("0123456789ABCDEF")
        return "<0x" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)]) + ">"
    }

    var vocabularySize: Int { tokens.count }
    func id(for token: String) -> Int? { vocab[ExactString(token)] }
    func token(for id: Int) -> String? { id >= 0 && id < tokens.count ? tokens[id] : nil }

    func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int]) {
        if word.isEmpty { return }
        if let cached = cache.get(word) {
            for id in cached { ids.append(Int(id)) }
            return
        }
        var out: [Int32] = []
        if ignoreMerges, let id = vocab[ExactString(String(String.UnicodeScalarView(word)))] {
            out = [Int32(id)]
        } else {
            out = initialSymbols(word)
            mergeAll(&out)
        }
        cache.put(word, out)
        for id in out { ids.append(Int(id)) }
    }

    /// As tokenizers computes them: each symbol has a byte length (its character's; 1 for a
    /// byte-fallback symbol; a fused unknown's run), offsets are their running sums — so a
    /// character dropped for want of an unknown token shifts the later offsets left, as there —
    /// and a byte range covers the scalars its first and last bytes fall in.
    func tokenSpans(_ word: [Unicode.Scalar]) -> [(id: Int, span: Range<Int>)]? {
        if word.isEmpty { return [] }
        if ignoreMerges, let id = vocab[ExactString(String(String.UnicodeScalarView(word)))] { return [(id, 0..<word.count)] }
        var lengths: [Int] = []
        var symbols = initialSymbols(word, byteLengths: &lengths)
        // Merges lowest rank first, leftmost on ties (what mergeAll does), lengths added alongside.
        while let (pos, id) = bestMerge(symbols) {
            symbols[pos] = id
            symbols.remove(at: pos + 1)
            lengths[pos] += lengths[pos + 1]
            lengths.remove(at: pos + 1)
        }
        var scalarOfByte: [Int] = []  // the scalar each UTF-8 byte of the word belongs to
        var utf8: [UInt8] = []
        for (i, s) in word.enumerated() {
            utf8.removeAll(keepingCapacity: true)
            appendUTF8(s, to: &utf8)
            scalarOfByte += repeatElement(i, count: utf8.count)
        }
        var out: [(id: Int, span: Range<Int>)] = []
        var byte = 0
        for (id, length) in zip(symbols, lengths) {
            // Byte-fallback bytes of a prefixed or suffixed piece can run past the word: tokenizers
            // then keeps unconverted offsets, which are not followed here.
            guard byte + length <= scalarOfByte.count else { return nil }
            let first = scalarOfByte[byte]
            let last = scalarOfByte[byte + length - 1]
            out.append((Int(id), first..<(last + 1)))
            byte += length
        }
        return out
    }

    /// One symbol per character (with prefix/suffix when configured), or byte fallback / unk.
    func initialSymbols(_ word: [Unicode.Scalar]) -> [Int32] {
        var lengths: [Int] = []
        return initialSymbols(word, byteLengths: &lengths)
    }

    /// The initial symbols, and the bytes of `word` each stands for (tokenizers' `Word::add`
    /// lengths: a character's UTF-8 length, 1 per byte-fallback symbol, a fused unknown's run).
    func initialSymbols(_ word: [Unicode.Scalar], byteLengths lengths: inout [Int]) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        var pendingUnk: Int32? = nil
        var pendingLength = 0
        let plain = continuingSubwordPrefix == nil && endOfWordSuffix == nil
        for (i, s) in word.enumerated() {
            var id: Int32 = -1
            var piece: String? = nil
            if plain && s.value < 0x800 {
                id = smallScalarIds[Int(s.value)]
            } else {
                var text = String(Character(s))
                if i > 0, let prefix = continuingSubwordPrefix { text = prefix + text }
                if i == word.count - 1, let suffix = endOfWordSuffix { text += suffix }
                id = vocab[ExactString(text)].map(Int32.init) ?? -1
                piece = text
            }
            let byteLength = s.value < 0x80 ? 1 : s.value < 0x800 ? 2 : s.value < 0x10000 ? 3 : 4
            if id >= 0 {
                if let unk = pendingUnk { symbols.append(unk); lengths.append(pendingLength); pendingUnk = nil }
                symbols.append(id)
                lengths.append(byteLength)
                continue
            }
            let utf8 = Array((piece ?? String(Character(s))).utf8)
            if byteFallback, let byteIds {
                for b in utf8 { symbols.append(Int32(byteIds[Int(b)])); lengths.append(1) }
                continue
            }
            if let unkId {
                if let unk = pendingUnk, !fuseUnk { symbols.append(unk); lengths.append(pendingLength) }
                pendingLength = pendingUnk != nil && fuseUnk ? pendingLength + byteLength : byteLength
                pendingUnk = Int32(unkId)
            }
        }
        if let unk = pendingUnk { symbols.append(unk); lengths.append(pendingLength) }
        return symbols
    }

    /// The rank and merged id of the pair `(a, b)`, if it merges.
    @inline(__always) private func merge(_ a: Int32, _ b: Int32) -> (rank: UInt32, id: Int32)? {
        guard let v = merges[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))] else { return nil }
        return (UInt32(v >> 32), Int32(truncatingIfNeeded: v & 0xFFFF_FFFF))
    }

    /// Applies merges lowest rank first (leftmost on ties) until none applies.
    private func mergeAll(_ symbols: inout [Int32]) {
        if symbols.count < 2 { return }
        if symbols.count <= 48 {
            mergeByScanning(&symbols)
        } else {
            mergeWithHeap(&symbols)
        }
    }

    /// Quadratic but allocation-free: best for the short words that dominate text.
    func mergeByScanning(_ symbols: inout [Int32]) {
        while let (pos, id) = bestMerge(symbols) {
            symbols[pos] = id
            symbols.remove(at: pos + 1)
        }
    }

    /// The merge to apply next: the adjacent pair of lowest rank (leftmost on ties), its position
    /// and merged id; nil when no pair merges.
    @inline(__always)
    private func bestMerge(_ symbols: [Int32]) -> (position: Int, id: Int32)? {
        guard symbols.count > 1 else { return nil }
        var bestRank = UInt32.max, bestPos = -1, bestId: Int32 = 0
        for i in 0..<(symbols.count - 1) {
            if let m = merge(symbols[i], symbols[i + 1]), m.rank < bestRank {
                bestRank = m.rank
                bestPos = i
                bestId = m.id
            }
        }
        return bestPos < 0 ? nil : (bestPos, bestId)
    }
}

/// A bounded word → ids cache shared by all encodes (`tokenizers` keeps one per BPE model too).
final class WordCache: Sendable {
    /// Entries kept before the cache is cleared: enough for the distinct words of a long document.
    static let capacity = 100_000
    private let storage = Mutex<[[Unicode.Scalar]: [Int32]]>([:])

    /// Appends the ids of `word`: cached, or from `compute` (then cached).
    func append(_ word: [Unicode.Scalar], to ids: inout [Int], compute: ([Unicode.Scalar]) -> [Int32]) {
        let pieces: [Int32]
        if let cached = get(word) {
            pieces = cached
        } else {
            pieces = compute(word)
            put(word, pieces)
        }
        for id in pieces { ids.append(Int(id)) }
    }

    func get(_ word: [Unicode.Scalar]) -> [Int32]? {
        storage.withLock { $0[word] }
    }

    func put(_ word: [Unicode.Scalar], _ ids: [Int32]) {
        guard word.count <= 64 else { return }
        storage.withLock { table in
            if table.count >= Self.capacity { table.removeAll(keepingCapacity: true) }
            table[word] = ids
        }
    }
}
