/// BuildKit's `parseWords`, used by `ENV`, `LABEL` and `ARG`: split on blank runes outside
/// quotes, keeping quotes and escape tokens in the words (the shell lexer removes them later).
///
/// Runes are decoded like Go does, so an invalid byte becomes U+FFFD in the words.
enum WordSplitting {

    /// The words of `bytes[range]`.
    static func words(_ bytes: [UInt8], _ range: Range<Int>, escapeToken: UInt8) -> [Word] {
        var words: [Word] = []
        var phase = WordScanPhase.spaces
        var word: [UInt8] = []
        var wordStart = range.lowerBound
        var quote: UInt8 = 0
        var blankOK = false
        let end = range.upperBound
        var pos = range.lowerBound
        var scalar: Unicode.Scalar?
        var width = 0

        func append(_ scalar: Unicode.Scalar?, at position: Int, width: Int) {
            if scalar == nil {
                word.append(contentsOf: GoText.replacement.utf8)
            } else {
                word.append(contentsOf: bytes[position..<position + width])
            }
        }
        func isSpace(_ scalar: Unicode.Scalar?) -> Bool { scalar.map(GoText.isSpace) ?? false }
        func isByte(_ scalar: Unicode.Scalar?, _ byte: UInt8) -> Bool { scalar?.value == UInt32(byte) }

        while pos <= end {
            if pos < end {
                (scalar, width) = GoText.decode(bytes, at: pos)
            }
            if phase == .spaces {
                if pos == end { break }
                if isSpace(scalar) { pos += width; continue }
                phase = .word
                wordStart = pos
            }
            if pos == end {
                if blankOK || !word.isEmpty { words.append(Word(word, offset: wordStart)) }
                break
            }
            if phase == .word {
                if isSpace(scalar) {
                    phase = .spaces
                    if blankOK || !word.isEmpty { words.append(Word(word, offset: wordStart)) }
                    word = []
                    blankOK = false
                    pos += width
                    continue
                }
                if isByte(scalar, UInt8(ascii: "'")) || isByte(scalar, UInt8(ascii: "\"")) {
                    quote = UInt8(truncatingIfNeeded: scalar?.value ?? 0)
                    blankOK = true
                    phase = .quote
                }
                if isByte(scalar, escapeToken) {
                    if pos + width == end { pos += width; continue }
                    append(scalar, at: pos, width: width)
                    pos += width
                    (scalar, width) = GoText.decode(bytes, at: pos)
                }
                append(scalar, at: pos, width: width)
                pos += width
                continue
            }
            // Inside quotes: the escape token escapes except inside '…'.
            if isByte(scalar, quote) { phase = .word }
            if isByte(scalar, escapeToken) && quote != UInt8(ascii: "'") {
                if pos + width == end {
                    phase = .word
                    pos += width
                    continue
                }
                append(scalar, at: pos, width: width)
                pos += width
                (scalar, width) = GoText.decode(bytes, at: pos)
            }
            append(scalar, at: pos, width: width)
            pos += width
        }
        return words
    }
}
