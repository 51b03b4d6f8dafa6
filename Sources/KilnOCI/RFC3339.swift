import Foundation

/// RFC 3339 date-times, the format of `created` fields.
public enum RFC3339 {
    /// `yyyy-MM-ddTHH:mm:ssZ` in UTC, whole seconds: what Kiln writes, so the same
    /// `SOURCE_DATE_EPOCH` always gives the same bytes.
    public static func string(from date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }

    /// Whether `text` is an RFC 3339 `date-time`: `date "T" time` with optional fraction and a
    /// `Z` or `±hh:mm` offset (`t`/`z` lowercase allowed, as the RFC's ABNF is case-insensitive).
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<(index + count)] {
                guard byte >= 0x30 && byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += count
            return value
        }
        func literal(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let _ = digits(4), literal("-"), let month = digits(2), literal("-"), let day = digits(2),
              (1...12).contains(month), (1...31).contains(day), literal("Tt"),
              let hour = digits(2), literal(":"), let minute = digits(2), literal(":"), let second = digits(2),
              hour < 24, minute < 60, second <= 60
        else { return false }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
            guard index > start else { return false }
        }
        if literal("Zz") { return index == bytes.count }
        guard literal("+-"), let offsetHour = digits(2), literal(":"), let offsetMinute = digits(2),
              offsetHour < 24, offsetMinute < 60
        else { return false }
        return index == bytes.count
    }
}
