import WeightKit

/// `quantize`'s table and JSON for the library's report.
extension QuantizationReport {
    /// Prints one row per tensor (type change, RMSE, max error, SNR, cosine) and a summary line.
    func printTable() {
        let width = max(6, rows.map(\.name.count).max() ?? 0)
        Console.out("tensor".padded(width) + "  type          rmse        max|Δ|     snr dB   cosine")
        for r in rows {
            let kind = "\(r.from.shortName)→\(r.to.shortName)".padded(12)
            guard let s = r.stats else {
                Console.out(r.name.padded(width) + "  " + kind + "  (kept)")
                continue
            }
            Console.out(
                r.name.padded(width) + "  " + kind + "  " + sci(s.rmse).padded(10) + "  " + sci(s.maxAbsError).padded(10) + "  "
                    + fixed(s.snrDB).padded(7) + "  " + format6(s.cosine))
        }
        Console.out(
            "\(quantizedCount) of \(rows.count) tensors quantized; \(formatBytes(bytesBefore)) → \(formatBytes(bytesAfter)) "
                + "(\(Double(Int((bitsPerWeight * 100).rounded())) / 100) bits/weight), wrote \(files.count > 1 ? files.joined(separator: ", ") : output) in \(compact(seconds)) s, \(Int(throughput)) MB/s")
    }

    /// Prints a dry run: one row per tensor with its type change and reason, and the size.
    func printPlan() {
        let width = max(6, rows.map(\.name.count).max() ?? 0)
        for r in rows {
            Console.out(r.name.padded(width) + "  " + "\(r.from.shortName)→\(r.to.shortName)".padded(12) + "  " + (r.reason ?? ""))
        }
        Console.out(
            "dry run: \(formatBytes(bytesBefore)) → \(formatBytes(bytesAfter)) (\(Double(Int((bitsPerWeight * 100).rounded())) / 100) bits/weight); nothing written")
    }

    /// The report as JSON (keys in docs/JSON.md).
    func json() -> JSONValue {
        func number(_ x: Double) -> JSONValue { x.isFinite ? .double(x) : .null }
        let tensors: [JSONValue] = rows.map { r in
            var o = JSONObject()
            o.set("name", .string(r.name))
            o.set("from", .string(r.from.shortName))
            o.set("to", .string(r.to.shortName))
            o.set("bytesBefore", .int(Int64(r.bytesBefore)))
            o.set("bytesAfter", .int(Int64(r.bytesAfter)))
            if let s = r.stats {
                o.set("rmse", number(s.rmse))
                o.set("maxAbsError", number(s.maxAbsError))
                o.set("snrDB", number(s.snrDB))
                o.set("cosine", number(s.cosine))
            }
            if let reason = r.reason { o.set("reason", .string(reason)) }
            return .object(o)
        }
        var o = JSONObject()
        o.set("output", .string(output))
        if files.count > 1 { o.set("files", .array(files.map { .string($0) })) }
        o.set("tensors", .array(tensors))
        o.set("bytesBefore", .int(Int64(bytesBefore)))
        o.set("bytesAfter", .int(Int64(bytesAfter)))
        o.set("bytesWritten", .int(Int64(bytesWritten)))
        o.set("bitsPerWeight", number(bitsPerWeight))
        o.set("seconds", number(seconds))
        o.set("inputMBPerSecond", number(throughput))
        return .object(o)
    }

    /// Three significant digits in scientific notation.
    func sci(_ x: Double) -> String {
        guard x.isFinite, x != 0 else { return x == 0 ? "0" : String(x) }
        var e = 0, m = x
        while abs(m) >= 10 { m /= 10; e += 1 }
        while abs(m) < 1 { m *= 10; e -= 1 }
        return String(Double(Int((m * 100).rounded())) / 100) + "e" + String(e)
    }

    /// Six decimals.
    func format6(_ x: Double) -> String {
        String(Double(Int((x * 1e6).rounded())) / 1e6)
    }
}
