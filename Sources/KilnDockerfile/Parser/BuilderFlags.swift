/// The leading `--name[=value]` words of an instruction (BuildKit's `extractBuilderFlags`).
///
/// Flags are scanned byte by byte: blanks are bytes for which Go's `unicode.IsSpace` holds when
/// taken as Latin-1 characters, and every byte of a flag is kept as the Latin-1 character it
/// would be. That reproduces the reference byte for byte, including its re-encoding of non-ASCII
/// flag values.
struct BuilderFlags: Sendable {
    /// The flags, quotes removed and escapes resolved.
    var flags: [Word]
    /// Where the text after the flags starts (the end of the range when nothing follows).
    var restStart: Int


    /// Splits the flags off `bytes[range]`.
    init(_ bytes: [UInt8], _ range: Range<Int>, escapeToken: UInt8) {
        var flags: [Word] = []
        var phase = WordScanPhase.spaces
        var word: [UInt8] = []
        var wordStart = range.lowerBound
        var quote: UInt8 = 0
        var blankOK = false
        let end = range.upperBound
        var pos = range.lowerBound

        func appendLatin1(_ byte: UInt8) {
            if byte < 0x80 {
                word.append(byte)
            } else {
                word.append(0xC0 | byte >> 6)
                word.append(0x80 | byte & 0x3F)
            }
        }
        func isDashDash() -> Bool { word == [0x2D, 0x2D] }

        while pos <= end {
            let byte: UInt8 = pos < end ? bytes[pos] : 0
            if phase == .spaces {
                if pos == end { break }
                if GoText.isLatin1Space(byte) { pos += 1; continue }
                guard byte == UInt8(ascii: "-"), pos + 1 < end, bytes[pos + 1] == UInt8(ascii: "-") else {
                    self.flags = flags
                    self.restStart = pos
                    return
                }
                phase = .word
                wordStart = pos
            }
            if pos == end {
                if !isDashDash() && (blankOK || !word.isEmpty) { flags.append(Word(word, offset: wordStart)) }
                break
            }
            if phase == .word {
                if GoText.isLatin1Space(byte) {
                    phase = .spaces
                    if isDashDash() {
                        self.flags = flags
                        self.restStart = pos
                        return
                    }
                    if blankOK || !word.isEmpty { flags.append(Word(word, offset: wordStart)) }
                    word = []
                    blankOK = false
                    pos += 1
                    continue
                }
                if byte == UInt8(ascii: "'") || byte == UInt8(ascii: "\"") {
                    quote = byte
                    blankOK = true
                    phase = .quote
                    pos += 1
                    continue
                }
                if byte == escapeToken {
                    if pos + 1 == end { pos += 1; continue }
                    pos += 1
                }
                appendLatin1(bytes[pos])
                pos += 1
                continue
            }
            // Inside quotes.
            if byte == quote {
                phase = .word
                pos += 1
                continue
            }
            if byte == escapeToken {
                if pos + 1 == end {
                    phase = .word
                    pos += 1
                    continue
                }
                pos += 1
            }
            appendLatin1(bytes[pos])
            pos += 1
        }
        self.flags = flags
        self.restStart = end
    }
}
