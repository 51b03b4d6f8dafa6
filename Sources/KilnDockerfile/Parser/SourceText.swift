/// A Dockerfile's bytes cut into physical lines the way BuildKit's line scanner cuts them.
///
/// Lines end at `\n`; a UTF-8 byte-order mark at the very start is dropped. BuildKit reads with a
/// 64 KiB token buffer, so a physical line longer than ``maximumLineLength`` ends the scan and
/// fails the parse once everything before it has been handled.
struct SourceText: Sendable {
    /// One physical line: where its text starts, where its text ends (before `\n`) and where the
    /// next line starts.
    struct Line: Sendable {
        var start: Int
        var contentEnd: Int
        var end: Int
    }

    /// The longest physical line BuildKit's scanner accepts, line ending excluded.
    static let maximumLineLength = 65535

    let bytes: [UInt8]
    /// The readable lines, in order; stops before an over-long line.
    let lines: [Line]
    /// The 1-based number of the first line that is too long, if any.
    let overlongLine: Int?

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var lines: [Line] = []
        var overlong: Int?
        var start = 0
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF {
            start = 3
        }
        var tokenStart = 0  // the BOM counts towards the scanner's limit
        while tokenStart < bytes.count {
            let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n"))
            let contentEnd = newline ?? bytes.count
            if contentEnd - tokenStart > Self.maximumLineLength {
                overlong = lines.count + 1
                break
            }
            let end = newline.map { $0 + 1 } ?? bytes.count
            lines.append(Line(start: start, contentEnd: contentEnd, end: end))
            start = end
            tokenStart = end
        }
        self.lines = lines
        self.overlongLine = overlong
    }

    /// The end of line `index`'s text once trailing `\r` are removed (BuildKit's `trimNewline`).
    func trimmedEnd(_ index: Int) -> Int {
        let line = lines[index]
        var end = line.contentEnd
        while end > line.start && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return end
    }

    /// Physical line `index` (0-based) as text, line ending removed.
    func text(ofLine index: Int) -> String {
        guard index >= 0 && index < lines.count else { return "" }
        return String(decoding: bytes[lines[index].start..<trimmedEnd(index)], as: UTF8.self)
    }

    /// Every physical line as text, including an over-long one, for rendering diagnostics.
    func allLineTexts() -> [String] {
        var texts = (0..<lines.count).map { text(ofLine: $0) }
        if overlongLine != nil {
            let start = lines.last?.end ?? (bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0)
            var rest = bytes[start...].split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            if rest.last?.isEmpty == true && bytes.last == UInt8(ascii: "\n") { rest.removeLast() }
            for line in rest {
                var end = line.endIndex
                while end > line.startIndex && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                texts.append(String(decoding: bytes[line.startIndex..<end], as: UTF8.self))
            }
        }
        return texts
    }

    /// Column (1-based, in Unicode scalars) of byte `offset` within line `index`.
    func column(ofLine index: Int, offset: Int) -> Int {
        guard index >= 0 && index < lines.count else { return 1 }
        let line = lines[index]
        let clamped = min(max(offset, line.start), line.contentEnd)
        return 1 + bytes[line.start..<clamped].reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
    }
}
