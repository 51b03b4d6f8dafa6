/// Finds heredoc openers (`<<EOF`, `3<<-'EOF'`) in an instruction line, as BuildKit does.
///
/// Heredocs are lexed with `\` as the escape token whatever the file's `escape` directive says,
/// like the reference.
enum HeredocDetection {
    /// Instructions that take heredocs.
    static let keywords: Set<String> = ["run", "copy", "add"]

    /// True when `node` (or the instruction an `ONBUILD` wraps, one level deep) takes heredocs
    /// and is in shell form.
    static func canContainHeredoc(_ node: Node) -> Bool {
        var target = node
        if node.keyword == "onbuild", let nested = node.nested { target = nested }
        return keywords.contains(target.keyword) && !target.isExecForm
    }

    /// The heredocs opened on `line`, bodies empty, in order. A line the shell lexer cannot split
    /// has none; an opener whose delimiter cannot be lexed is an error.
    static func heredocs(inLine line: String) throws(ShellError) -> [Heredoc] {
        var lexer = ShellLexer(escapeToken: "\\")
        lexer.rawQuotes = true
        lexer.rawEscapes = true
        lexer.skipUnsetEnv = true
        try checkNesting(line)
        guard let words = try? lexer.processWords(line, environment: [:]) else { return [] }
        var heredocs: [Heredoc] = []
        for word in words {
            if let heredoc = try heredoc(fromWord: word) { heredocs.append(heredoc) }
        }
        return heredocs
    }

    /// How deeply `${…}` may nest in a line handed to the shell lexer, whose scanner recurses
    /// once per level; real Dockerfiles nest two or three levels.
    static let maximumSubstitutionNesting = 64

    /// Refuses text whose `${` openers (counted without regard to quotes, so an over-estimate)
    /// nest deeper than ``maximumSubstitutionNesting``, before it can exhaust the stack.
    static func checkNesting(_ text: String) throws(ShellError) {
        var depth = 0
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte == UInt8(ascii: "{") && previous == UInt8(ascii: "$") {
                depth += 1
                if depth > maximumSubstitutionNesting {
                    throw ShellError("variable substitutions nested more than \(maximumSubstitutionNesting) levels deep")
                }
            } else if byte == UInt8(ascii: "}") && depth > 0 {
                depth -= 1
            }
            previous = byte
        }
    }

    /// Classifies one shell word: a heredoc opener (`^(\d*)<<(-?)\s*([^<]*)$` whose delimiter
    /// lexes to exactly one word), or nil.
    static func heredoc(fromWord word: String) throws(ShellError) -> Heredoc? {
        let bytes = Array(word.utf8)
        var index = 0
        while index < bytes.count && bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
        let digits = bytes[0..<index]
        guard bytes.count - index >= 2, bytes[index] == UInt8(ascii: "<"), bytes[index + 1] == UInt8(ascii: "<") else {
            return nil
        }
        index += 2
        let chomp = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if chomp { index += 1 }
        while index < bytes.count, bytes[index] == 0x20 || (0x09...0x0D).contains(bytes[index]) && bytes[index] != 0x0B {
            index += 1
        }
        let delimiter = bytes[index...]
        guard !delimiter.isEmpty, !delimiter.contains(UInt8(ascii: "<")) else { return nil }
        let text = String(decoding: delimiter, as: UTF8.self)
        try checkNesting(text)

        // Lexing with and without raw quotes tells whether any part of the delimiter was quoted.
        var lexer = ShellLexer(escapeToken: "\\")
        lexer.skipUnsetEnv = true
        let words = try lexer.processWords(text, environment: [:])
        guard words.count == 1, let name = words.first else { return nil }
        lexer.rawQuotes = true
        let rawWords = try lexer.processWords(text, environment: [:])
        guard rawWords.count == 1, let rawName = rawWords.first else {
            throw ShellError("internal lexing of heredoc produced inconsistent results: \(text)")
        }
        func quoteCount(_ s: String) -> Int { s.utf8.reduce(0) { $0 + ($1 == 0x22 || $1 == 0x27 ? 1 : 0) } }

        var fileDescriptor = 0
        for digit in digits {
            let (product, overflow) = fileDescriptor.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = product.addingReportingOverflow(Int(digit - 0x30))
            if overflow || overflow2 { fileDescriptor = 0; break }
            fileDescriptor = sum
        }
        return Heredoc(name: name, fileDescriptor: fileDescriptor, expand: quoteCount(name) == quoteCount(rawName),
                       chomp: chomp, content: "")
    }
}
