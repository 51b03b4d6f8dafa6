/// A pattern with wildcards, compiled to a token list and matched directly on UTF-8
/// bytes. It accepts exactly what the reference's anchored regular expression accepts
/// (`*` → `[^/]*`, `?` → `[^/]`, `**` → `(.*/)?` or a trailing `.*`), without a regex
/// engine: matching a path is one pass with a little backtracking at the wildcards.
struct GlobProgram: Sendable, Hashable {
    /// One step of the program.
    enum Token: Sendable, Hashable {
        /// These bytes of ``GlobProgram/literals``, verbatim.
        case literal(Range<Int>)
        /// `*`: any run of characters without `/`.
        case anyInSegment
        /// `?`: one character other than `/`.
        case oneInSegment
        /// `[...]`: one character of ``GlobProgram/classes``[index].
        case characterClass(Int)
        /// `**` with more pattern after it (`**/` eats its slash): nothing, or any text
        /// ending in `/`. Like the reference's `.`, the text cannot contain a newline.
        case anyDirectories
        /// `**` at the end of a pattern that already has wildcards: any text without a
        /// newline. Always the last token.
        case anyRemainder
    }

    /// The program.
    let tokens: [Token]
    /// Storage for the `literal` tokens.
    let literals: [UInt8]
    /// Storage for the `characterClass` tokens.
    let classes: [CharacterClass]

    /// The literal every accepted text starts with, when the program starts with one.
    let leadingLiteral: Range<Int>?
    /// The literal every accepted text ends with, when the program ends with one.
    let trailingLiteral: Range<Int>?
    /// How many `/` every accepted text contains, when that is fixed (no `**`, and no
    /// class that can match `/`). Then only one ancestor of a path can match.
    let fixedSlashCount: Int?

    /// A program of `tokens` over the given storage.
    init(tokens: [Token], literals: [UInt8], classes: [CharacterClass]) {
        self.tokens = tokens
        self.literals = literals
        self.classes = classes
        if case .literal(let range)? = tokens.first { leadingLiteral = range } else { leadingLiteral = nil }
        if case .literal(let range)? = tokens.last { trailingLiteral = range } else { trailingLiteral = nil }
        var slashes: Int? = 0
        for token in tokens {
            switch token {
            case .literal(let range):
                slashes? += literals[range].count(where: { $0 == UInt8(ascii: "/") })
            case .anyDirectories, .anyRemainder:
                slashes = nil
            case .characterClass(let index) where classes[index].contains(UInt32(UInt8(ascii: "/"))):
                slashes = nil
            case .anyInSegment, .oneInSegment, .characterClass:
                break
            }
        }
        fixedSlashCount = slashes
    }

    /// Whether the whole of `text` is accepted.
    func matches(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        // Most paths fail on the literal ends (`*.log`, `vendor/*`); test those first.
        if let leadingLiteral, !text.hasBytes(literals, leadingLiteral, at: 0) { return false }
        if let trailingLiteral, !text.hasBytes(literals, trailingLiteral, at: text.count - trailingLiteral.count) {
            return false
        }
        return run(text, acceptingPrefixes: false)
    }

    /// Whether `path` or one of its prefixes that end before a `/` is accepted: the parent
    /// rule for a clean relative path, whose ancestors are exactly those prefixes.
    func matchesSelfOrAncestor(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        if let leadingLiteral, !path.hasBytes(literals, leadingLiteral, at: 0) { return false }
        if let fixedSlashCount {
            var slashes = 0
            for index in path.indices where path[index] == UInt8(ascii: "/") {
                if slashes == fixedSlashCount { return matches(path.prefix(bytes: index)) }
                slashes += 1
            }
            return slashes == fixedSlashCount && matches(path)
        }
        if matches(path) { return true }
        for index in path.indices where path[index] == UInt8(ascii: "/") {
            if matches(path.prefix(bytes: index)) { return true }
        }
        return false
    }

    /// Whether some text that starts with `prefix` could be accepted. Errs on the side of
    /// `true`: a class is assumed to accept at least one character.
    func canMatchText(startingWith prefix: UnsafeBufferPointer<UInt8>) -> Bool {
        run(prefix, acceptingPrefixes: true)
    }

    /// Matches without remembering failures first: typical patterns finish in a few
    /// steps, and allocating the memo would cost more than the match. Only a run that
    /// exceeds its step budget is repeated with the memo, which bounds the work.
    private func run(_ text: UnsafeBufferPointer<UInt8>, acceptingPrefixes: Bool) -> Bool {
        literals.withUnsafeBufferPointer { literalBytes in
            var matcher = GlobMatcher(program: self, literals: literalBytes, text: text,
                                      acceptingPrefixes: acceptingPrefixes)
            let matched = matcher.match(token: 0, at: 0)
            guard matcher.exceededBudget else { return matched }
            matcher.rememberFailures()
            return matcher.match(token: 0, at: 0)
        }
    }
}

/// The state of one match of a ``GlobProgram`` against one text.
private struct GlobMatcher {
    let tokens: [GlobProgram.Token]
    let classes: [CharacterClass]
    let literals: UnsafeBufferPointer<UInt8>
    let text: UnsafeBufferPointer<UInt8>
    /// Succeed as soon as the text runs out (for "could something under here match?").
    let acceptingPrefixes: Bool
    /// Failed (token, position) pairs, one bit each; empty until ``rememberFailures()``.
    private var failed: [UInt64] = []
    /// Continuations tried so far without the memo, and how many are allowed.
    private var steps = 0
    private let stepBudget: Int
    /// The run without the memo was abandoned; its `false` means nothing.
    private(set) var exceededBudget = false

    init(program: GlobProgram, literals: UnsafeBufferPointer<UInt8>, text: UnsafeBufferPointer<UInt8>,
         acceptingPrefixes: Bool) {
        self.tokens = program.tokens
        self.classes = program.classes
        self.literals = literals
        self.text = text
        self.acceptingPrefixes = acceptingPrefixes
        // With the memo each (token, position) state fails at most once.
        self.stepBudget = 4 * (program.tokens.count + 1) * (text.count + 1)
    }

    /// Switches to matching with a memo of failed states, for a second run.
    mutating func rememberFailures() {
        let states = (tokens.count + 1) * (text.count + 1)
        failed = [UInt64](repeating: 0, count: (states + 63) / 64)
        exceededBudget = false
    }

    /// Whether `tokens[token...]` accepts `text[position...]`.
    mutating func match(token: Int, at position: Int) -> Bool {
        var token = token
        var position = position
        let end = text.count
        while token < tokens.count {
            if acceptingPrefixes && position == end { return true }
            switch tokens[token] {
            case .literal(let range):
                let available = end - position
                if available < range.count {
                    // Running out of text inside a literal only fails a whole-text match.
                    guard acceptingPrefixes else { return false }
                    return literalsEqual(range.lowerBound, position, count: available)
                }
                guard literalsEqual(range.lowerBound, position, count: range.count) else { return false }
                position += range.count
            case .oneInSegment:
                guard position < end, text[position] != UInt8(ascii: "/") else { return false }
                position += UTF8Rune.decode(text, at: position, end: end).width
            case .characterClass(let index):
                guard position < end else { return false }
                let rune = UTF8Rune.decode(text, at: position, end: end)
                guard classes[index].contains(rune.scalar) else { return false }
                position += rune.width
            case .anyRemainder:
                return !containsNewline(from: position)
            case .anyInSegment:
                return backtrackInSegment(token: token, from: position)
            case .anyDirectories:
                return backtrackOverDirectories(token: token, from: position)
            }
            token += 1
        }
        return position == end
    }

    /// `*`: tries every end of a run of non-`/` characters, shortest first.
    private mutating func backtrackInSegment(token: Int, from position: Int) -> Bool {
        let end = text.count
        let next = token + 1
        // A trailing `*` only needs the rest of the segment to be the rest of the text.
        if next == tokens.count {
            var index = position
            while index < end {
                if text[index] == UInt8(ascii: "/") { return false }
                index += 1
            }
            return true
        }
        let firstByte = firstLiteralByte(of: next)
        var candidate = position
        while true {
            if candidate == end || firstByte == nil || text[candidate] == firstByte {
                if tryContinuation(token: next, at: candidate) { return true }
            }
            guard candidate < end, text[candidate] != UInt8(ascii: "/") else { return false }
            candidate += UTF8Rune.decode(text, at: candidate, end: end).width
        }
    }

    /// `(.*/)?`: tries nothing, then every position just after a `/`, up to the first newline.
    private mutating func backtrackOverDirectories(token: Int, from position: Int) -> Bool {
        let end = text.count
        let next = token + 1
        let firstByte = firstLiteralByte(of: next)
        if tryContinuation(token: next, at: position) { return true }
        var index = position
        while index < end, text[index] != UInt8(ascii: "\n") {
            if text[index] == UInt8(ascii: "/") {
                let candidate = index + 1
                if candidate == end || firstByte == nil || text[candidate] == firstByte {
                    if tryContinuation(token: next, at: candidate) { return true }
                }
            }
            index += 1
        }
        return false
    }

    /// The byte a continuation at `token` must start with, when it starts with a literal;
    /// wildcards skip every other position without trying them.
    private func firstLiteralByte(of token: Int) -> UInt8? {
        if case .literal(let range) = tokens[token] { return literals[range.lowerBound] }
        return nil
    }

    private mutating func tryContinuation(token: Int, at position: Int) -> Bool {
        if failed.isEmpty {
            if exceededBudget { return false }
            steps += 1
            if steps > stepBudget {
                exceededBudget = true
                return false
            }
            return match(token: token, at: position)
        }
        let state = token * (text.count + 1) + position
        let (word, bit) = (state / 64, UInt64(1) << UInt64(state % 64))
        if failed[word] & bit != 0 { return false }
        if match(token: token, at: position) { return true }
        failed[word] |= bit
        return false
    }

    private func literalsEqual(_ literalStart: Int, _ position: Int, count: Int) -> Bool {
        var offset = 0
        while offset < count {
            if literals[literalStart + offset] != text[position + offset] { return false }
            offset += 1
        }
        return true
    }

    private func containsNewline(from position: Int) -> Bool {
        var index = position
        while index < text.count {
            if text[index] == UInt8(ascii: "\n") { return true }
            index += 1
        }
        return false
    }
}
