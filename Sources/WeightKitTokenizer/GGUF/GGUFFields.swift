import WeightKitCore

/// Typed reads of GGUF metadata values, with the key in every error.
struct GGUFFields {
    let metadata: Metadata

    func string(_ key: String) throws(TokenizerError) -> String {
        guard let v = metadata[key] else { throw .missing(key) }
        guard case .string(let s) = v else { throw TokenizerError(.invalidValue, "expected a string, found \(v)", field: key) }
        return s
    }

    func optionalString(_ key: String) throws(TokenizerError) -> String? {
        metadata[key] == nil ? nil : try string(key)
    }

    func optionalBool(_ key: String) throws(TokenizerError) -> Bool? {
        guard let v = metadata[key] else { return nil }
        guard case .bool(let b) = v else { throw TokenizerError(.invalidValue, "expected a boolean, found \(v)", field: key) }
        return b
    }

    func optionalInt(_ key: String) throws(TokenizerError) -> Int? {
        guard let v = metadata[key] else { return nil }
        guard let i = Self.int(v) else { throw TokenizerError(.invalidValue, "expected an integer, found \(v)", field: key) }
        return i
    }

    func strings(_ key: String) throws(TokenizerError) -> [String] {
        try array(key).map { v throws(TokenizerError) -> String in
            guard case .string(let s) = v else { throw TokenizerError(.invalidValue, "expected strings, found \(v)", field: key) }
            return s
        }
    }

    func optionalInts(_ key: String) throws(TokenizerError) -> [Int]? {
        guard metadata[key] != nil else { return nil }
        return try array(key).map { v throws(TokenizerError) -> Int in
            guard let i = Self.int(v) else { throw TokenizerError(.invalidValue, "expected integers, found \(v)", field: key) }
            return i
        }
    }

    func doubles(_ key: String) throws(TokenizerError) -> [Double] {
        try array(key).map { v throws(TokenizerError) -> Double in
            switch v {
            case .float(let d): return d
            case .int(let i): return Double(i)
            case .uint(let u): return Double(u)
            default: throw TokenizerError(.invalidValue, "expected numbers, found \(v)", field: key)
            }
        }
    }

    private func array(_ key: String) throws(TokenizerError) -> [MetadataValue] {
        guard let v = metadata[key] else { throw .missing(key) }
        guard case .array(let items) = v else { throw TokenizerError(.invalidValue, "expected an array, found \(v)", field: key) }
        return items
    }

    private static func int(_ v: MetadataValue) -> Int? {
        switch v {
        case .int(let i): return Int(exactly: i)
        case .uint(let u): return Int(exactly: u)
        default: return nil
        }
    }
}
