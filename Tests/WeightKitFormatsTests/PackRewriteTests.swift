import Testing
@testable import WeightKitFormats
import WeightKitCore

/// `PackWriter.spliced`: only the top-level `metadata` value changes; strings that look like JSON
/// structure, whitespace, a nested `metadata` key and `null` are handled as JSON, not as text.
@Suite("Pack header splice")
struct PackRewriteTests {
    static func splice(_ header: String, _ metadata: String = #"{"k":"v"}"#) -> String {
        String(decoding: PackWriter.spliced(Array(header.utf8), key: "metadata", value: Array(metadata.utf8)), as: UTF8.self)
    }

    @Test("the metadata value is found as JSON and replaced; every other byte is kept", arguments: [
        (#"{"a":1,"metadata":{"x":"}\"{]"},"t":[]}   "#, #"{"a":1,"metadata":{"k":"v"},"t":[]}"#),
        (#"{"config":{"metadata":{"no":"nested"}}, "metadata" :  {} ,"t":[]}"#, #"{"config":{"metadata":{"no":"nested"}}, "metadata" :  {"k":"v"} ,"t":[]}"#),
        (#"{"metadata":null,"t":[]}"#, #"{"metadata":{"k":"v"},"t":[]}"#),
        (#"{"t":[{"name":"metadata"}],"metadata":{"a\"b":"c\\"}}"#, #"{"t":[{"name":"metadata"}],"metadata":{"k":"v"}}"#),
        (#"{"t":[] }  "#, #"{"t":[] ,"metadata":{"k":"v"}}"#),
    ])
    func splice(_ header: String, _ expected: String) throws {
        let result = Self.splice(header)
        #expect(result == expected)
        let parsed = try JSON.parse(result)
        #expect(parsed.object?["metadata"]?.object?["k"] == .string("v") && parsed.object?["metadata"]?.object?.count == 1)
    }
}
