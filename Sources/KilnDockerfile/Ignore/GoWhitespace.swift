/// Go's `strings.TrimSpace`, which both the `.dockerignore` reader and the matcher apply
/// to every entry: it trims characters with the Unicode `White_Space` property (ASCII
/// space, `\t`, `\n`, `\v`, `\f`, `\r`, U+0085, U+00A0 and the Unicode spaces), and
/// nothing else.
enum GoWhitespace {
    /// `text` without leading and trailing white space.
    static func trimmed(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[first...last])
    }
}
