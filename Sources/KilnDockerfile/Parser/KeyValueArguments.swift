/// `ENV` and `LABEL` arguments as BuildKit's `parseNameVal` gives them: `key value sep` triples.
///
/// `KEY value…` (first word without `=`) is the legacy form: one triple with separator `""` and the
/// rest of the line as the value. Otherwise every word is `key=value` and yields a triple with
/// separator `"="`; quotes and escapes stay in the value for the expansion stage.
enum KeyValueArguments {
    static func parse(_ bytes: [UInt8], _ range: Range<Int>, instruction: String,
                      escapeToken: UInt8) throws(LineError) -> ParsedArguments {
        let words = WordSplitting.words(bytes, range, escapeToken: escapeToken)
        guard let first = words.first else { return ParsedArguments() }
        let equals = UInt8(ascii: "=")
        if !first.bytes.contains(equals) {
            var separator = range.lowerBound
            while separator < range.upperBound && !GoText.isBlank(bytes[separator]) { separator += 1 }
            var valueStart = separator
            while valueStart < range.upperBound && GoText.isBlank(bytes[valueStart]) { valueStart += 1 }
            guard separator < range.upperBound else {
                throw LineError(message: "\(instruction) must have two arguments", offset: range.lowerBound)
            }
            return ParsedArguments(words: [
                Word(bytes[range.lowerBound..<separator], offset: range.lowerBound),
                Word(bytes[valueStart..<range.upperBound], offset: valueStart),
                Word([], offset: separator),
            ])
        }
        var result = ParsedArguments()
        result.words.reserveCapacity(words.count * 3)
        for word in words {
            guard let split = word.bytes.firstIndex(of: equals) else {
                let quoted = GoText.quoted(String(decoding: word.bytes, as: UTF8.self))
                throw LineError(message: "Syntax error - can't find = in \(quoted). Must be of the form: name=value",
                                offset: word.offset)
            }
            // Offsets inside a word are exact only when no U+FFFD replaced a byte before them.
            result.words.append(Word(word.bytes[..<split], offset: word.offset))
            result.words.append(Word(word.bytes[(split + 1)...], offset: word.offset + split + 1))
            result.words.append(Word([equals], offset: word.offset + split))
        }
        return result
    }
}
