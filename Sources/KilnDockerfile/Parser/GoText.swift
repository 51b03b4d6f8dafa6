/// The text rules of Go's standard library that BuildKit's parser inherits: UTF-8 decoding with
/// one replacement rune per invalid byte, `unicode.IsSpace`, `unicode.IsPrint`, `strings.TrimSpace`,
/// `strings.ToLower` and `strconv.Quote`.
///
/// The parser works on raw bytes, so these are byte-level too: a Dockerfile may hold invalid UTF-8
/// and the dump must render it exactly as the reference does.
enum GoText {
    /// Go's `utf8.RuneError`, produced for every invalid byte.
    static let replacement: Unicode.Scalar = "\u{FFFD}"

    /// Decodes the rune at `index` like Go's `utf8.DecodeRune`: an invalid or truncated sequence
    /// yields `(nil, 1)` so the caller can tell a real U+FFFD from an invalid byte.
    @inline(__always)
    static func decode<C: RandomAccessCollection<UInt8>>(_ bytes: C, at index: C.Index) -> (scalar: Unicode.Scalar?, width: Int) where C.Index == Int {
        let end = bytes.endIndex
        let b0 = bytes[index]
        if b0 < 0x80 { return (Unicode.Scalar(b0), 1) }
        let count: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: count = 2
        case 0xE0: count = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 3
        case 0xED: count = 3; upper = 0x9F
        case 0xF0: count = 4; lower = 0x90
        case 0xF1...0xF3: count = 4
        case 0xF4: count = 4; upper = 0x8F
        default: return (nil, 1)
        }
        guard end - index >= count else { return (nil, 1) }
        let b1 = bytes[index + 1]
        guard b1 >= lower && b1 <= upper else { return (nil, 1) }
        var value = UInt32(b0) & (count == 2 ? 0x1F : count == 3 ? 0x0F : 0x07)
        value = value << 6 | UInt32(b1 & 0x3F)
        for offset in 2..<count {
            let b = bytes[index + offset]
            guard b & 0xC0 == 0x80 else { return (nil, 1) }
            value = value << 6 | UInt32(b & 0x3F)
        }
        return (Unicode.Scalar(value), count)
    }

    /// Go's `unicode.IsSpace`.
    @inline(__always)
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// Go's `unicode.IsSpace(rune(b))` for a single byte taken as a Latin-1 character, which is how
    /// BuildKit's byte-wise scanners (flags, `HEALTHCHECK`) test for blanks.
    @inline(__always)
    static func isLatin1Space(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x09...0x0D, 0x20, 0x85, 0xA0: return true
        default: return false
        }
    }

    /// `[\t\v\f\r ]`, the separator class of BuildKit's `reWhitespace`.
    @inline(__always)
    static func isBlank(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0B || byte == 0x0C || byte == 0x0D
    }

    /// An approximation of Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols
    /// and U+0020; other separators, controls, format characters, unassigned and private use are not.
    static func isPrint(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 { return scalar.value >= 0x20 && scalar.value < 0x7F }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber,
             .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    /// The range of `bytes` left after removing leading and trailing `unicode.IsSpace` runes
    /// (Go's `strings.TrimSpace`).
    static func trimSpace(_ bytes: [UInt8], in range: Range<Int>) -> Range<Int> {
        var start = range.lowerBound
        while start < range.upperBound {
            let (scalar, width) = decode(bytes, at: start)
            guard let scalar, isSpace(scalar) else { break }
            start += width
        }
        var end = range.upperBound
        while end > start {
            // Step back to the start of the last rune; at most 4 bytes, never below `start`.
            var runeStart = end - 1
            while runeStart > start && end - runeStart < 4 && bytes[runeStart] & 0xC0 == 0x80 {
                runeStart -= 1
            }
            let (scalar, width) = decode(bytes, at: runeStart)
            guard runeStart + width == end, let scalar, isSpace(scalar) else { break }
            end = runeStart
        }
        return start..<end
    }

    /// The index of the first byte after the leading `unicode.IsSpace` runes of `range`.
    static func skipSpace(_ bytes: [UInt8], from start: Int, to end: Int) -> Int {
        var index = start
        while index < end {
            let (scalar, width) = decode(bytes, at: index)
            guard let scalar, isSpace(scalar) else { break }
            index += width
        }
        return index
    }

    /// Go's `strings.ToLower`: ASCII stays bytes, other runes are lowercased one by one and invalid
    /// bytes become U+FFFD.
    static func lowercased(_ bytes: ArraySlice<UInt8>) -> String {
        if bytes.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        let array = Array(bytes)
        var scalars = String.UnicodeScalarView()
        var index = 0
        while index < array.count {
            let (scalar, width) = decode(array, at: index)
            index += width
            guard let scalar else { scalars.append(replacement); continue }
            // Go maps rune to rune; the first scalar of the full mapping is that simple mapping
            // for every case that matters.
            let lower = scalar.properties.lowercaseMapping.unicodeScalars.first ?? scalar
            scalars.append(lower)
        }
        return String(scalars)
    }

    /// Go's `strconv.Quote` of raw bytes, appended to `out`.
    static func appendQuoted<C: RandomAccessCollection<UInt8>>(_ bytes: C, to out: inout [UInt8]) where C.Index == Int {
        out.append(UInt8(ascii: "\""))
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte >= 0x20 && byte < 0x7F {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
                index += 1
                continue
            }
            let (decoded, width) = decode(bytes, at: index)
            guard let scalar = decoded else {
                appendHexEscape("x", UInt32(byte), digits: 2, to: &out)
                index += 1
                continue
            }
            if isPrint(scalar) {
                out.append(contentsOf: bytes[index..<index + width])
            } else {
                switch scalar.value {
                case 0x07: out.append(contentsOf: Array("\\a".utf8))
                case 0x08: out.append(contentsOf: Array("\\b".utf8))
                case 0x0C: out.append(contentsOf: Array("\\f".utf8))
                case 0x0A: out.append(contentsOf: Array("\\n".utf8))
                case 0x0D: out.append(contentsOf: Array("\\r".utf8))
                case 0x09: out.append(contentsOf: Array("\\t".utf8))
                case 0x0B: out.append(contentsOf: Array("\\v".utf8))
                case ..<0x20, 0x7F: appendHexEscape("x", scalar.value, digits: 2, to: &out)
                case ..<0x10000: appendHexEscape("u", scalar.value, digits: 4, to: &out)
                default: appendHexEscape("U", scalar.value, digits: 8, to: &out)
                }
            }
            index += width
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Go's `strconv.Quote` of a string.
    static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        appendQuoted(Array(text.utf8), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendHexEscape(_ letter: Character, _ value: UInt32, digits: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\\"))
        out.append(contentsOf: Array(String(letter).utf8))
        let hex = Array("0123456789abcdef".utf8)
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            out.append(hex[Int((value >> UInt32(shift)) & 0xF)])
        }
    }
}
