/// The small part of JSON that Dockerfiles need, decoded from bytes with Go's `encoding/json`
/// rules: the exec form (`["sh", "-c", "…"]`) and a JSON-object file for syntax detection.
///
/// Nothing recursive: nesting is tracked with an explicit stack and capped like Go's decoder
/// (10000 levels), so hostile input cannot exhaust the call stack.
enum JSONText {
    /// A string element of an array, decoded, with the offset of its opening quote.
    struct Element: Sendable, Hashable {
        var bytes: [UInt8]
        var offset: Int
    }

    /// What an exec-form candidate turned out to be.
    enum ArrayOutcome: Sendable, Hashable {
        /// Not a valid JSON array: the text is shell form.
        case notJSON
        /// A valid JSON array with an element that is not a string: a hard error.
        case notAllStrings
        /// A JSON array of strings.
        case strings([Element])
    }

    /// Go's limit on nesting.
    static let maximumDepth = 10000

    /// Decodes `bytes[range]` as a JSON array of strings.
    static func stringArray(_ bytes: [UInt8], in range: Range<Int>) -> ArrayOutcome {
        var reader = Reader(bytes: bytes, index: range.lowerBound, end: range.upperBound)
        reader.skipWhitespace()
        guard reader.consume(UInt8(ascii: "[")) else { return .notJSON }
        var elements: [Element] = []
        var allStrings = true
        reader.skipWhitespace()
        if !reader.consume(UInt8(ascii: "]")) {
            while true {
                reader.skipWhitespace()
                if reader.peek == UInt8(ascii: "\"") {
                    let offset = reader.index
                    guard let string = reader.string() else { return .notJSON }
                    elements.append(Element(bytes: string, offset: offset))
                } else {
                    allStrings = false
                    guard reader.skipValue(depth: 1) else { return .notJSON }
                }
                reader.skipWhitespace()
                if reader.consume(UInt8(ascii: ",")) { continue }
                guard reader.consume(UInt8(ascii: "]")) else { return .notJSON }
                break
            }
        }
        reader.skipWhitespace()
        guard reader.index == reader.end else { return .notJSON }
        return allStrings ? .strings(elements) : .notAllStrings
    }

    /// The string value of member `key` when the whole of `bytes` is one JSON object (last
    /// duplicate wins); nil when it is not valid JSON, not an object, or the member is no string.
    static func stringMember(_ bytes: [UInt8], key: [UInt8]) -> [UInt8]? {
        var reader = Reader(bytes: bytes, index: 0, end: bytes.count)
        reader.skipWhitespace()
        guard reader.consume(UInt8(ascii: "{")) else { return nil }
        var result: [UInt8]?
        reader.skipWhitespace()
        if !reader.consume(UInt8(ascii: "}")) {
            while true {
                reader.skipWhitespace()
                guard let name = reader.string() else { return nil }
                reader.skipWhitespace()
                guard reader.consume(UInt8(ascii: ":")) else { return nil }
                reader.skipWhitespace()
                if reader.peek == UInt8(ascii: "\"") {
                    guard let value = reader.string() else { return nil }
                    if name == key { result = value }
                } else {
                    guard reader.skipValue(depth: 1) else { return nil }
                    if name == key { result = nil }
                }
                reader.skipWhitespace()
                if reader.consume(UInt8(ascii: ",")) { continue }
                guard reader.consume(UInt8(ascii: "}")) else { return nil }
                break
            }
        }
        reader.skipWhitespace()
        return reader.index == reader.end ? result : nil
    }

    /// A cursor over JSON text.
    private struct Reader {
        let bytes: [UInt8]
        var index: Int
        let end: Int

        var peek: UInt8? { index < end ? bytes[index] : nil }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard index < end, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func skipWhitespace() {
            while index < end {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        private func hexValue(at position: Int) -> UInt32? {
            guard position + 4 <= end else { return nil }
            var value: UInt32 = 0
            for offset in 0..<4 {
                let byte = bytes[position + offset]
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x41...0x46: digit = byte - 0x41 + 10
                case 0x61...0x66: digit = byte - 0x61 + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }

        private static func appendUTF8(_ scalar: Unicode.Scalar, to out: inout [UInt8]) {
            out.append(contentsOf: scalar.utf8)
        }

        /// Decodes a string starting at its opening quote.
        mutating func string() -> [UInt8]? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            var out: [UInt8] = []
            while index < end {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    return out
                case UInt8(ascii: "\\"):
                    guard index + 1 < end else { return nil }
                    let escaped = bytes[index + 1]
                    index += 2
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard let unit = hexValue(at: index) else { return nil }
                        index += 4
                        if (0xD800...0xDFFF).contains(unit) {
                            // A valid pair combines; anything else is one replacement rune and the
                            // following escape is decoded on its own.
                            if unit < 0xDC00, index + 1 < end, bytes[index] == UInt8(ascii: "\\"),
                               bytes[index + 1] == UInt8(ascii: "u"), let low = hexValue(at: index + 2),
                               (0xDC00...0xDFFF).contains(low),
                               let scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)) {
                                index += 6
                                Self.appendUTF8(scalar, to: &out)
                            } else {
                                Self.appendUTF8(GoText.replacement, to: &out)
                            }
                        } else if let scalar = Unicode.Scalar(unit) {
                            Self.appendUTF8(scalar, to: &out)
                        }
                    default:
                        return nil
                    }
                case ..<0x20:
                    return nil
                case ..<0x80:
                    out.append(byte)
                    index += 1
                default:
                    let (scalar, width) = GoText.decode(bytes, at: index)
                    if scalar == nil {
                        Self.appendUTF8(GoText.replacement, to: &out)
                    } else {
                        out.append(contentsOf: bytes[index..<index + width])
                    }
                    index += width
                }
            }
            return nil
        }

        private mutating func literal(_ word: String) -> Bool {
            for byte in word.utf8 {
                guard consume(byte) else { return false }
            }
            return true
        }

        private mutating func digits() -> Int {
            let start = index
            while index < end, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            return index - start
        }

        private mutating func number() -> Bool {
            _ = consume(UInt8(ascii: "-"))
            if consume(UInt8(ascii: "0")) {
            } else if let first = peek, first >= 0x31, first <= 0x39 {
                _ = digits()
            } else {
                return false
            }
            if consume(UInt8(ascii: ".")) {
                guard digits() > 0 else { return false }
            }
            if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
                if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
                guard digits() > 0 else { return false }
            }
            return true
        }

        /// Skips one value of any kind, nested containers included, without recursion.
        mutating func skipValue(depth startDepth: Int) -> Bool {
            var open: [UInt8] = []  // `[` or `{` of each container being skipped
            while true {
                // A value is expected here.
                skipWhitespace()
                guard let byte = peek else { return false }
                var completed = true
                switch byte {
                case UInt8(ascii: "\""):
                    guard string() != nil else { return false }
                case UInt8(ascii: "["), UInt8(ascii: "{"):
                    guard startDepth + open.count < JSONText.maximumDepth else { return false }
                    index += 1
                    open.append(byte)
                    skipWhitespace()
                    let close = byte == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}")
                    if consume(close) {
                        open.removeLast()
                    } else {
                        completed = false
                        if byte == UInt8(ascii: "{") {
                            guard memberName() else { return false }
                        }
                    }
                case UInt8(ascii: "t"): guard literal("true") else { return false }
                case UInt8(ascii: "f"): guard literal("false") else { return false }
                case UInt8(ascii: "n"): guard literal("null") else { return false }
                default: guard number() else { return false }
                }
                guard completed else { continue }
                // A value is complete: close containers or move to the next element.
                while let container = open.last {
                    skipWhitespace()
                    if consume(UInt8(ascii: ",")) {
                        if container == UInt8(ascii: "{") {
                            guard memberName() else { return false }
                        }
                        break
                    }
                    let close = container == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}")
                    guard consume(close) else { return false }
                    open.removeLast()
                }
                if open.isEmpty { return true }
            }
        }

        /// `"name" :` inside an object.
        private mutating func memberName() -> Bool {
            skipWhitespace()
            guard peek == UInt8(ascii: "\""), string() != nil else { return false }
            skipWhitespace()
            return consume(UInt8(ascii: ":"))
        }
    }
}
