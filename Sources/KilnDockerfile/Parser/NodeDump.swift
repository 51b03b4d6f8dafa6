extension Node {
    /// The node as one line of BuildKit's `Node.Dump()`: `(keyword ["flags"…] "arg"…)`, arguments
    /// quoted like Go's `strconv.Quote`, an `ONBUILD` instruction nested in parentheses. No newline.
    public var dump: String {
        var out: [UInt8] = []
        appendDump(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func appendDump(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "("))
        // Lowercased again for nodes built elsewhere; parsed keywords already are.
        var body: [UInt8] = Array(GoText.lowercased(ArraySlice(keyword.utf8)).utf8)
        if !flags.isEmpty {
            body.append(contentsOf: Array(" [".utf8))
            for (index, flag) in flags.enumerated() {
                if index > 0 { body.append(UInt8(ascii: " ")) }
                GoText.appendQuoted(Array(flag.utf8), to: &body)
            }
            body.append(UInt8(ascii: "]"))
        }
        if let nested {
            body.append(UInt8(ascii: " "))
            nested.appendDump(to: &body)
        }
        let exact = exactArguments.flatMap { raw in
            raw.count == arguments.count
                && zip(raw, arguments).allSatisfy { String(decoding: $0, as: UTF8.self) == $1 } ? raw : nil
        }
        for (index, argument) in arguments.enumerated() {
            body.append(UInt8(ascii: " "))
            if let exact {
                GoText.appendQuoted(exact[index], to: &body)
            } else {
                GoText.appendQuoted(Array(argument.utf8), to: &body)
            }
        }
        // Go trims the assembled line, which only matters when the keyword is empty.
        out.append(contentsOf: body[GoText.trimSpace(body, in: 0..<body.count)])
        out.append(UInt8(ascii: ")"))
    }
}

extension ParsedDockerfile {
    /// BuildKit's `AST.Dump() + "\n"`: every top-level node's ``Node/dump`` followed by a newline.
    public var dump: String {
        var out: [UInt8] = []
        for node in nodes {
            node.appendDump(to: &out)
            out.append(UInt8(ascii: "\n"))
        }
        return String(decoding: out, as: UTF8.self)
    }
}
