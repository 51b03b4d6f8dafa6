/// Durations written as Go's `time.ParseDuration` accepts them: `30s`, `1m30s`, `1.5h`, `250ms`, `0`.
public enum GoDuration {
    /// A malformed duration, with Go's wording.
    public struct ParseError: Error, Sendable, Hashable {
        /// What is wrong.
        public var message: String
    }

    private static let unitNanoseconds: [String: Double] = [
        "ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9,
    ]

    /// The duration in nanoseconds.
    public static func nanoseconds(_ text: String) throws(ParseError) -> Int64 {
        let quoted = "\"\(text)\""
        var rest = Substring(text)
        var sign = 1.0
        if let first = rest.first, first == "-" || first == "+" {
            sign = first == "-" ? -1 : 1
            rest = rest.dropFirst()
        }
        if rest == "0" { return 0 }
        guard !rest.isEmpty else { throw ParseError(message: "time: invalid duration \(quoted)") }
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", number.filter({ $0 == "." }).count <= 1, let value = Double(number.hasPrefix(".") ? "0" + number : String(number)) else {
                throw ParseError(message: "time: invalid duration \(quoted)")
            }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            guard !unit.isEmpty else { throw ParseError(message: "time: missing unit in duration \(quoted)") }
            guard let scale = unitNanoseconds[String(unit)] else {
                throw ParseError(message: "time: unknown unit \"\(unit)\" in duration \(quoted)")
            }
            rest = rest.dropFirst(unit.count)
            total += value * scale
        }
        guard total <= Double(Int64.max) else { throw ParseError(message: "time: invalid duration \(quoted)") }
        return Int64((sign * total).rounded())
    }
}
