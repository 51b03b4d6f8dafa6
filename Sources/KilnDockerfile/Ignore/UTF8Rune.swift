/// One character decoded from UTF-8 bytes the way Go's `utf8.DecodeRune` does: an
/// ill-formed sequence decodes to U+FFFD with a width of one byte, so `?` and `[...]`
/// step over bad bytes one at a time, exactly like the reference matcher.
struct UTF8Rune {
    /// The Unicode scalar value, or U+FFFD for an ill-formed byte.
    var scalar: UInt32
    /// How many bytes the character occupies (1 for an ill-formed byte).
    var width: Int
    /// `false` when the bytes were not well-formed UTF-8.
    var isValid: Bool

    /// Decodes the character starting at `bytes[index]`, reading no further than `end`.
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, end: Int) -> UTF8Rune {
        let lead = bytes[index]
        if lead < 0x80 { return UTF8Rune(scalar: UInt32(lead), width: 1, isValid: true) }
        let invalid = UTF8Rune(scalar: 0xFFFD, width: 1, isValid: false)
        let width: Int
        // The accepted range of the second byte excludes overlong forms and surrogates.
        let secondLow: UInt8, secondHigh: UInt8
        switch lead {
        case 0xC2...0xDF: width = 2; secondLow = 0x80; secondHigh = 0xBF
        case 0xE0: width = 3; secondLow = 0xA0; secondHigh = 0xBF
        case 0xED: width = 3; secondLow = 0x80; secondHigh = 0x9F
        case 0xE1...0xEF: width = 3; secondLow = 0x80; secondHigh = 0xBF
        case 0xF0: width = 4; secondLow = 0x90; secondHigh = 0xBF
        case 0xF1...0xF3: width = 4; secondLow = 0x80; secondHigh = 0xBF
        case 0xF4: width = 4; secondLow = 0x80; secondHigh = 0x8F
        default: return invalid
        }
        guard index + width <= end else { return invalid }
        let second = bytes[index + 1]
        guard second >= secondLow, second <= secondHigh else { return invalid }
        var scalar = UInt32(lead) & (width == 2 ? 0x1F : width == 3 ? 0x0F : 0x07)
        scalar = scalar << 6 | UInt32(second & 0x3F)
        var offset = 2
        while offset < width {
            let next = bytes[index + offset]
            guard next & 0xC0 == 0x80 else { return invalid }
            scalar = scalar << 6 | UInt32(next & 0x3F)
            offset += 1
        }
        return UTF8Rune(scalar: scalar, width: width, isValid: true)
    }
}
