/// Builds the node for one logical line (BuildKit's `newNodeFromLine` and `splitCommand`):
/// keyword, flags, then the keyword's argument shape; `ONBUILD` recurses into its instruction.
struct NodeBuilder {
    /// How deep `ONBUILD ONBUILD …` may nest. BuildKit has no limit here (the instruction stage
    /// rejects chaining), but a bound keeps hostile input from exhausting the stack.
    static let maximumNesting = 32

    let escapeToken: UInt8
    let lines: LineRange
    var mapper: LocationMapper

    /// Builds the node for `bytes[range]`.
    mutating func node(_ bytes: [UInt8], _ range: Range<Int>, depth: Int = 0) throws(LineError) -> Node {
        let trimmed = GoText.trimSpace(bytes, in: range)
        var keywordEnd = trimmed.lowerBound
        while keywordEnd < trimmed.upperBound && !GoText.isBlank(bytes[keywordEnd]) { keywordEnd += 1 }
        var afterKeyword = keywordEnd
        while afterKeyword < trimmed.upperBound && GoText.isBlank(bytes[afterKeyword]) { afterKeyword += 1 }

        let keywordBytes = bytes[trimmed.lowerBound..<keywordEnd]
        let keyword = GoText.lowercased(keywordBytes)
        var flags: [Word] = []
        var rest = trimmed.upperBound..<trimmed.upperBound
        if keywordEnd < trimmed.upperBound {
            let extracted = BuilderFlags(bytes, afterKeyword..<trimmed.upperBound, escapeToken: escapeToken)
            flags = extracted.flags
            rest = GoText.trimSpace(bytes, in: extracted.restStart..<trimmed.upperBound)
        }

        let shape = ArgumentShape(keyword: keyword)
        var arguments = ParsedArguments()
        var nested: Node?
        if shape == .subcommand {
            if !rest.isEmpty {
                guard depth < Self.maximumNesting else {
                    throw LineError(message: "ONBUILD instructions nested too deeply", offset: rest.lowerBound)
                }
                nested = try node(bytes, rest, depth: depth + 1)
            }
        } else {
            arguments = try shape.parse(bytes, rest, escapeToken: escapeToken)
        }

        let location = mapper.location(of: trimmed.lowerBound)
        let flagLocations = flags.map { mapper.location(of: $0.offset) }
        let argumentLocations = arguments.words.map { mapper.location(of: $0.offset) }
        var node = Node(
            keyword: keyword,
            keywordAsWritten: String(decoding: keywordBytes, as: UTF8.self),
            flags: flags.map { String(decoding: $0.bytes, as: UTF8.self) },
            flagLocations: flagLocations,
            arguments: arguments.words.map { String(decoding: $0.bytes, as: UTF8.self) },
            argumentLocations: argumentLocations,
            isExecForm: arguments.isExecForm,
            lines: lines,
            location: location,
            original: String(decoding: bytes[trimmed], as: UTF8.self),
            nested: nested
        )
        if arguments.words.contains(where: { !Self.isValidUTF8($0.bytes) }) {
            node.exactArguments = arguments.words.map(\.bytes)
        }
        return node
    }

    private static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 { index += 1; continue }
            let (scalar, width) = GoText.decode(bytes, at: index)
            if scalar == nil { return false }
            index += width
        }
        return true
    }
}
