/// How BuildKit classifies physical lines: comments, blank continuation lines and lines that
/// continue on the next one.
struct LineContinuation: Sendable {
    /// The escape token's byte (`\` or `` ` ``).
    let escapeToken: UInt8

    /// True when the first non-blank rune of `bytes[range]` is `#`.
    static func isComment(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        let start = GoText.skipSpace(bytes, from: range.lowerBound, to: range.upperBound)
        return start < range.upperBound && bytes[start] == UInt8(ascii: "#")
    }

    /// True when `bytes[range]` holds only blank runes.
    static func isBlank(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        GoText.skipSpace(bytes, from: range.lowerBound, to: range.upperBound) == range.upperBound
    }

    /// Applies BuildKit's continuation pattern `([^E])E[ \t]*$|^E[ \t]*$` (E = escape token).
    ///
    /// Returns the end of the text to keep and whether the line continues. The escape token and
    /// the blanks after it are dropped; an escaped escape token (`\\`) does not continue.
    func trim(_ bytes: [UInt8], _ range: Range<Int>) -> (end: Int, continues: Bool) {
        var end = range.upperBound
        while end > range.lowerBound && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
        guard end > range.lowerBound, bytes[end - 1] == escapeToken else { return (range.upperBound, false) }
        let tokenIndex = end - 1
        if tokenIndex == range.lowerBound || bytes[tokenIndex - 1] != escapeToken {
            return (tokenIndex, true)
        }
        return (range.upperBound, false)
    }
}
