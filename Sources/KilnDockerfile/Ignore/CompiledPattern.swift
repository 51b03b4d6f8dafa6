/// One cleaned pattern (without its `!`) in the form it is matched in.
///
/// The classification is the reference's: patterns without wildcards are compared as
/// strings, and a leading or trailing `**` on an otherwise literal pattern becomes a
/// suffix or prefix test. These are not just shortcuts: a suffix pattern such as
/// `**file` matches `myfile`, which the general translation (`(.*/)?file`) would not, and
/// Docker users get that behaviour, so Kiln keeps it.
enum CompiledPattern: Sendable, Hashable {
    /// No wildcard: the path equals these bytes.
    case exact([UInt8])
    /// `literal**`: the path starts with these bytes (`dir/**` does not match `dir`).
    case prefix([UInt8])
    /// `**literal`: the path ends with these bytes, or, when they start with `/`
    /// (`**/foo`), the path is these bytes without the `/`. `**` alone matches everything.
    case suffix([UInt8])
    /// Anything with `*`, `?`, `[...]`, `\` or `]`, and `**` in other places.
    case glob(GlobProgram)
    /// A pattern the reference accepts when the list is built but cannot compile for
    /// matching (a reversed range such as `[z-a]`): every evaluation reports the error.
    case unmatchable(PatternError)

    /// Compiles `pattern` (already cleaned, without `!`). Throws for the syntax errors that
    /// Go's `filepath.Match` reports, which the reference checks when the list is built.
    init(_ pattern: String) throws(PatternError) {
        var compiler = PatternCompiler(pattern)
        self = try compiler.compile()
    }

    /// Whether the whole of `path` matches. Throws only for ``unmatchable(_:)``.
    func matches(_ path: UnsafeBufferPointer<UInt8>) throws(PatternError) -> Bool {
        switch self {
        case .exact(let literal):
            return path.count == literal.count && path.hasBytes(literal, at: 0)
        case .prefix(let literal):
            return path.hasBytes(literal, at: 0)
        case .suffix(let literal):
            if path.hasBytes(literal, at: path.count - literal.count) { return true }
            // `**/foo` also matches `foo` itself.
            return path.count == literal.count - 1 && literal.first == UInt8(ascii: "/")
                && path.hasBytes(literal, 1..<literal.count, at: 0)
        case .glob(let program):
            return program.matches(path)
        case .unmatchable(let error):
            throw error
        }
    }

    /// Whether a clean relative `path` or one of its ancestors (its prefixes that end
    /// before a `/`) matches: the parent rule, answered in one test where the form allows.
    func matchesSelfOrAncestor(_ path: UnsafeBufferPointer<UInt8>) throws(PatternError) -> Bool {
        switch self {
        case .exact(let literal):
            if path.count == literal.count { return path.hasBytes(literal, at: 0) }
            return path.count > literal.count && path[literal.count] == UInt8(ascii: "/") && path.hasBytes(literal, at: 0)
        case .prefix(let literal):
            // An ancestor with the prefix makes the path itself have it.
            return path.hasBytes(literal, at: 0)
        case .suffix:
            if try matches(path) { return true }
            for index in path.indices where path[index] == UInt8(ascii: "/") {
                if try matches(path.prefix(bytes: index)) { return true }
            }
            return false
        case .glob(let program):
            return program.matchesSelfOrAncestor(path)
        case .unmatchable(let error):
            throw error
        }
    }

    /// Whether some path that starts with `prefix` could match. Never a false `false`:
    /// it is what allows a directory walk to skip a whole directory.
    func canMatchPath(startingWith prefix: UnsafeBufferPointer<UInt8>) -> Bool {
        switch self {
        case .exact(let literal):
            return literal.starts(with: prefix)
        case .prefix(let literal):
            return literal.starts(with: prefix) || prefix.starts(with: literal)
        case .suffix:
            return true
        case .glob(let program):
            return program.canMatchText(startingWith: prefix)
        case .unmatchable:
            return true
        }
    }
}

/// The translation of one pattern, a left-to-right scan mirroring the reference's.
private struct PatternCompiler {
    private enum Form { case exact, prefix, suffix, glob }

    let pattern: String
    let bytes: [UInt8]
    private var form = Form.exact
    private var tokens: [GlobProgram.Token] = []
    private var literals: [UInt8] = []
    /// Where the literal run not yet turned into a token starts in `literals`.
    private var literalRunStart = 0
    private var classes: [CharacterClass] = []
    private var hasReversedRange = false

    init(_ pattern: String) {
        self.pattern = pattern
        self.bytes = Array(pattern.utf8)
    }

    mutating func compile() throws(PatternError) -> CompiledPattern {
        var index = 0
        var isFirstStep = true
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "*") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                index += 2
                if index < bytes.count, bytes[index] == UInt8(ascii: "/") { index += 1 }
                if index == bytes.count {
                    if form == .exact {
                        form = .prefix
                    } else {
                        append(.anyRemainder)
                    }
                } else {
                    append(.anyDirectories)
                }
                // The reference decides on "suffix" when the pattern starts with `**`,
                // even if the `**` ends it; later wildcards turn it back into a glob.
                if isFirstStep { form = .suffix }
            case UInt8(ascii: "*"):
                index += 1
                append(.anyInSegment)
            case UInt8(ascii: "?"):
                index += 1
                append(.oneInSegment)
            case UInt8(ascii: "\\"):
                guard index + 1 < bytes.count else { throw .badPattern(pattern) }
                literals.append(bytes[index + 1])
                index += 2
                form = .glob
            case UInt8(ascii: "["):
                let parsed = try CharacterClass.parse(bytes, at: index, pattern: pattern)
                hasReversedRange = hasReversedRange || parsed.hasReversedRange
                classes.append(parsed.class)
                append(.characterClass(classes.count - 1))
                index = parsed.end
            case UInt8(ascii: "]"):
                // A stray `]` is literal, but the reference sends it down the regexp path.
                literals.append(byte)
                index += 1
                form = .glob
            default:
                literals.append(byte)
                index += 1
            }
            isFirstStep = false
        }
        flushLiteralRun()
        switch form {
        case .exact:
            return .exact(bytes)
        case .prefix:
            return .prefix(Array(bytes.dropLast(2)))
        case .suffix:
            return .suffix(Array(bytes.dropFirst(2)))
        case .glob:
            if hasReversedRange { return .unmatchable(.badPattern(pattern)) }
            return .glob(GlobProgram(tokens: tokens, literals: literals, classes: classes))
        }
    }

    /// Appends a wildcard token after the pending literal run; the pattern becomes a glob.
    private mutating func append(_ token: GlobProgram.Token) {
        flushLiteralRun()
        tokens.append(token)
        form = .glob
    }

    private mutating func flushLiteralRun() {
        if literals.count > literalRunStart {
            tokens.append(.literal(literalRunStart..<literals.count))
            literalRunStart = literals.count
        }
    }
}
