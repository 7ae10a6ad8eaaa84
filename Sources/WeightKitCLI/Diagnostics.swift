#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import WeightKit

/// stdout for data, stderr for everything else; progress only on a terminal.
///
/// WeightKit never prints colors or styles, so `NO_COLOR` holds whatever its value; the only
/// escape sequence it writes is the erase-line of the progress indicator, and only when stderr
/// is a terminal.
enum Console {
    /// Set by `-q/--quiet`: `info` lines and progress are not written (errors and warnings are).
    nonisolated(unsafe) static var quiet = false

    /// Writes a line of data to stdout.
    static func out(_ text: String) {
        writeAll(1, text + "\n")
    }

    /// Writes text to stdout with no newline (streamed generation).
    static func write(_ text: String) {
        if !text.isEmpty { writeAll(1, text) }
    }

    /// Writes a line to stderr.
    static func error(_ text: String) {
        writeAll(2, text + "\n")
    }

    /// Writes all of `text` to a file descriptor (calls `write` until done).
    static func writeAll(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        unsafe bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = unsafe SystemIO.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue } else { return } }
                offset += n
            }
        }
    }

    /// Writes each of a library report's warnings to stderr as `weightkit: warning: …` (shown
    /// with `--quiet` too).
    static func warn(_ warnings: [ConversionWarning]) {
        for warning in warnings { error("weightkit: warning: \(warning.message)") }
    }

    /// Writes a status line (timings, what was written) to stderr unless `--quiet`.
    static func info(_ text: String) {
        if !quiet { error(text) }
    }

    /// True when stderr is a terminal (progress lines are drawn only then).
    static let stderrIsTerminal = isatty(2) != 0

    /// Redraws a one-line progress indicator on stderr, when it is a terminal.
    static func progress(_ label: String, _ done: Int, _ total: Int) {
        guard stderrIsTerminal, !quiet else { return }
        writeAll(2, done >= total ? "\r\u{1B}[K" : "\r\u{1B}[K\(label) \(done)/\(total)")
    }
}

/// Monotonic seconds (calls `clock_gettime(CLOCK_MONOTONIC)`).
func monotonicSeconds() -> Double {
    var ts = timespec()
    unsafe clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// `22713728` → `22,713,728`.
func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

/// One decimal place.
func fixed(_ x: Double) -> String {
    let r = (x * 10).rounded() / 10
    return String(r)
}

/// Tokens per second, 0 when no time passed.
func rate(_ tokens: Int, _ seconds: Double) -> Double {
    seconds > 0 ? Double(tokens) / seconds : 0
}

/// A number for tables: 4 significant digits, scientific when tiny or huge.
func compact(_ x: Double) -> String {
    if x == 0 { return "0" }
    if !x.isFinite { return String(x) }
    let magnitude = abs(x)
    if magnitude >= 1e5 || magnitude < 1e-3 {
        let exponent = Int((log10(magnitude)).rounded(.down))
        let mantissa = x / pow(10, Double(exponent))
        return "\(round4(mantissa))e\(exponent)"
    }
    return round4(x)
}

private func round4(_ x: Double) -> String {
    let digits = max(0, 3 - Int(log10(max(abs(x), 1e-12)).rounded(.down)))
    let scale = pow(10, Double(digits))
    let r = (x * scale).rounded() / scale
    var text = String(r)
    if text.hasSuffix(".0") { text.removeLast(2) }
    return text
}

/// Parses `2GB`, `500MB`, `1.5GiB`, `4096` into bytes.
func parseByteSize(_ text: String) -> Int? {
    let lower = text.lowercased().trimmingCharacters(in: " ")
    let units: [(String, Double)] = [
        ("kib", 1024), ("mib", 1_048_576), ("gib", 1_073_741_824), ("tib", 1_099_511_627_776),
        ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12), ("k", 1e3), ("m", 1e6), ("g", 1e9), ("b", 1),
    ]
    for (suffix, scale) in units where lower.hasSuffix(suffix) {
        guard let value = Double(lower.dropLast(suffix.count)), value > 0 else { return nil }
        return Int(value * scale)
    }
    guard let value = Int(lower), value > 0 else { return nil }
    return value
}

extension String {
    /// The string without leading and trailing `c`.
    func trimmingCharacters(in c: Character) -> String {
        var s = Substring(self)
        while s.first == c { s.removeFirst() }
        while s.last == c { s.removeLast() }
        return String(s)
    }

    /// Left-justified in `width` columns.
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// Peak resident set size of this process in bytes (`VmHWM` from /proc/self/status; 0 elsewhere).
func peakResidentBytes() -> Int {
    SystemMemory.peakResident ?? 0
}
