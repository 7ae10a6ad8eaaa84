import CJSONC

/// JSON parsing through json-c.
///
/// json-c keeps the last value when an object repeats a key; strict formats must refuse
/// duplicates, so a byte-level scan (`JSONKeyScanner`) counts the keys each object really has
/// and the two are compared while the tree is copied into `JSONValue`.
public enum JSON {
    /// Deepest nesting accepted: safetensors headers need 3 levels, tokenizer.json about 6.
    public static let maxDepth = 64

    /// Parses `bytes` as one JSON value; trailing ASCII whitespace is allowed (safetensors pads
    /// headers with spaces), anything else after the value is an error.
    ///
    /// Calls `json_tokener_new_ex`, `json_tokener_parse_ex` and `json_object_put`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, rejectDuplicateKeys: Bool = true) throws(JSONParseError) -> JSONValue {
        guard bytes.count < Int(Int32.max) else {
            throw JSONParseError(message: "JSON text of \(bytes.count) bytes is too large for json-c", byteOffset: 0)
        }
        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw JSONParseError(message: "empty JSON text", byteOffset: 0)
        }
        guard let tokener = unsafe json_tokener_new_ex(Int32(maxDepth)) else {
            throw JSONParseError(message: "json-c could not allocate a tokener", byteOffset: 0)
        }
        defer { unsafe json_tokener_free(tokener) }
        unsafe json_tokener_set_flags(tokener, Int32(JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8))
        // SAFETY: base/count describe the caller's live buffer; json-c copies what it keeps.
        let root = unsafe json_tokener_parse_ex(tokener, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count))
        let status = unsafe json_tokener_get_error(tokener)
        let end = Int(unsafe json_tokener_get_parse_end(tokener))
        guard let root = unsafe root, status == json_tokener_success else {
            if let root = unsafe root { unsafe json_object_put(root) }
            let message: String
            if status == json_tokener_continue {
                message = "JSON text ends before the value is complete"
            } else if let text = unsafe json_tokener_error_desc(status) {
                let detail = unsafe String(cString: text)
                message = "invalid JSON: " + detail
            } else {
                message = "invalid JSON"
            }
            throw JSONParseError(message: message, byteOffset: min(end, bytes.count))
        }
        defer { unsafe json_object_put(root) }
        var trailing = end
        while trailing < bytes.count {
            let c = unsafe bytes[trailing]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else {
                throw JSONParseError(message: "unexpected data after the JSON value", byteOffset: trailing)
            }
            trailing += 1
        }
        var objects = rejectDuplicateKeys ? unsafe JSONKeyScanner.scan(bytes) : []
        var converter = Converter(objects: objects)
        let value = try unsafe converter.convert(root)
        objects.removeAll()
        return value
    }

    /// Byte offsets of the top-level object's keys (the opening quote), for error messages that
    /// point into a header; the first occurrence wins.
    public static func topLevelKeyOffsets(_ bytes: UnsafeRawBufferPointer) -> [String: Int] {
        guard let root = unsafe JSONKeyScanner.scan(bytes).first else { return [:] }
        var offsets: [String: Int] = [:]
        let text = unsafe Array(bytes)
        for range in root.keys {
            let name = JSONKeyScanner.decode(Array(text[range]))
            if offsets[name] == nil { offsets[name] = range.lowerBound - 1 }
        }
        return offsets
    }

    /// Parses a Swift string as JSON.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        let bytes = Array(text.utf8)
        do {
            return try unsafe bytes.withUnsafeBytes { buffer in try unsafe parse(buffer) }
        } catch let error as JSONParseError {
            throw error
        } catch {
            throw JSONParseError(message: "\(error)", byteOffset: 0)
        }
    }

    /// Walks json-c's tree in pre-order, copying it and checking key counts against the scan.
    private struct Converter {
        let objects: [JSONKeyScanner.ObjectKeys]
        var nextObject = 0

        init(objects: [JSONKeyScanner.ObjectKeys]) { self.objects = objects }

        mutating func convert(_ node: OpaquePointer?) throws(JSONParseError) -> JSONValue {
            guard let node = unsafe node else { return .null }
            switch unsafe json_object_get_type(node) {
            case json_type_null: return .null
            case json_type_boolean: return .bool(unsafe json_object_get_boolean(node) != 0)
            case json_type_double: return .double(unsafe json_object_get_double(node))
            case json_type_int:
                let signed = unsafe json_object_get_int64(node)
                if signed == Int64.max {
                    // json-c clamps at Int64.max; the uint64 getter holds the real value.
                    let unsigned = unsafe json_object_get_uint64(node)
                    return unsigned > UInt64(Int64.max) ? .uint(unsigned) : .int(signed)
                }
                return .int(signed)
            case json_type_string:
                let length = Int(unsafe json_object_get_string_len(node))
                guard let text = unsafe json_object_get_string(node) else { return .string("") }
                let buffer = unsafe UnsafeRawBufferPointer(start: text, count: length)
                return .string(unsafe String(decoding: buffer, as: UTF8.self))
            case json_type_array:
                let count = unsafe json_object_array_length(node)
                var items: [JSONValue] = []
                items.reserveCapacity(count)
                for i in 0..<count {
                    items.append(try unsafe convert(json_object_array_get_idx(node, i)))
                }
                return .array(items)
            case json_type_object:
                return .object(try unsafe convertObject(node))
            default:
                return .null
            }
        }

        mutating func convertObject(_ node: OpaquePointer) throws(JSONParseError) -> JSONObject {
            let scanned = nextObject < objects.count ? objects[nextObject] : nil
            nextObject += 1
            // Compare key counts before descending: once a duplicate collapses a subtree, the
            // scan's pre-order list no longer lines up with json-c's children (fuzz crasher
            // fixtures/fuzz/safetensors/duplicate-key-misaligned).
            if let offset = scanned?.nulKeyOffset {
                throw JSONParseError(message: "an object key contains U+0000 (NUL)", byteOffset: offset)
            }
            if let scanned, scanned.keys.count != Int(unsafe json_object_object_length(node)) {
                let duplicate = scanned.firstDuplicate()
                throw JSONParseError(
                    message: "duplicate key \"\(duplicate?.name ?? "?")\" in a JSON object",
                    duplicateKey: duplicate?.name ?? "?", byteOffset: duplicate?.offset ?? scanned.start)
            }
            var object = JSONObject()
            var it = unsafe json_object_iter_begin(node)
            var end = unsafe json_object_iter_end(node)
            while unsafe json_object_iter_equal(&it, &end) == 0 {
                let name = unsafe String(cString: json_object_iter_peek_name(&it))
                let value = unsafe json_object_iter_peek_value(&it)
                object.set(name, try unsafe convert(value))
                unsafe json_object_iter_next(&it)
            }
            if let scanned, scanned.keys.count != object.count {
                let duplicate = scanned.firstDuplicate()
                throw JSONParseError(
                    message: "duplicate key \"\(duplicate?.name ?? "?")\" in a JSON object",
                    duplicateKey: duplicate?.name ?? "?", byteOffset: duplicate?.offset ?? scanned.start)
            }
            return object
        }
    }
}
