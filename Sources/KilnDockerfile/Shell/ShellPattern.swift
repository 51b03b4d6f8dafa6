/// The glob patterns of `${V#p}`, `${V%p}` and `${V/p/r}`.
///
/// BuildKit turns the pattern into a Go regular expression (`*` → `.*` or `.*?`, `?` → `.`,
/// everything else literal) and uses Go's leftmost-first matching: among the matches that
/// start leftmost, the one a backtracking engine would find first (greedy stars as long as
/// possible, lazy ones as short as possible, earlier stars first). This type computes exactly
/// that, without a regex engine and without backtracking: for every start position the end of
/// that match, by dynamic programming over the pattern from its last token to its first
/// (O(pattern × text) time, O(text) memory).
struct ShellPattern {
    enum Token: Equatable {
        case literal(Unicode.Scalar)
        /// `?`: one character other than a newline (Go's `.`).
        case any
        /// `*`: any run of characters other than newlines.
        case star
    }

    let tokens: [Token]
    /// Stars prefer the longest run (`.*`) rather than the shortest (`.*?`).
    let greedy: Bool

    private init(tokens: [Token], greedy: Bool) {
        self.tokens = tokens
        self.greedy = greedy
    }

    /// Compiles `pattern`. `\` escapes `*`, `?` and `\`; before `}` or `/` it is dropped (it was
    /// only there to get the character past the `${…}` scanner); before anything else it is an
    /// error. The error names `describedAs`, the pattern as upstream reports it.
    static func compile(_ pattern: [Unicode.Scalar], greedy: Bool, describedAs: [Unicode.Scalar]) throws(ShellError) -> ShellPattern {
        var tokens: [Token] = []
        tokens.reserveCapacity(pattern.count)
        // Go's text/scanner, which upstream reads the pattern with, drops a leading U+FEFF.
        var i = pattern.first == "\u{FEFF}" ? 1 : 0
        while i < pattern.count {
            let ch = pattern[i]
            i += 1
            switch ch {
            case "*":
                tokens.append(.star)
            case "?":
                tokens.append(.any)
            case "\\":
                let following: Unicode.Scalar? = i < pattern.count ? pattern[i] : nil
                if following == "}" || following == "/" { continue }
                guard let following, following == "*" || following == "?" || following == "\\" else {
                    throw ShellError("invalid pattern (\(scalarsToString(describedAs))) in substitution: invalid escape '\\\(String(following ?? "\u{FFFD}"))'")
                }
                i += 1
                tokens.append(.literal(following))
            default:
                tokens.append(.literal(ch))
            }
        }
        return ShellPattern(tokens: tokens, greedy: greedy)
    }

    // MARK: - Expansion operators

    /// `${V#p}` / `${V##p}`: `subject` without the prefix the anchored pattern matches.
    static func trimPrefix(_ pattern: [Unicode.Scalar], from subject: [Unicode.Scalar], greedy: Bool) throws(ShellError) -> ArraySlice<Unicode.Scalar> {
        let compiled = try compile(pattern, greedy: greedy, describedAs: pattern)
        let end = compiled.matchEnds(in: subject)[0]
        return end < 0 ? subject[...] : subject[end...]
    }

    /// `${V%p}` / `${V%%p}`. Like upstream, the suffix search is a prefix search on the reversed
    /// subject with the reversed pattern (escape pairs kept in order).
    static func trimSuffix(_ pattern: [Unicode.Scalar], from subject: [Unicode.Scalar], greedy: Bool) throws(ShellError) -> ArraySlice<Unicode.Scalar> {
        let trimmed = try trimPrefix(reversed(pattern: pattern), from: Array(subject.reversed()), greedy: greedy)
        return ArraySlice(trimmed.reversed())
    }

    /// Reverses a pattern without splitting `\x` pairs: `a\*c` → `c\*a`. A lone `\` at the very
    /// end stays a single character (`ab\` → `\ba`), as upstream's `reversePattern`.
    static func reversed(pattern: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out = pattern
        let last = pattern.count - 1
        var i = 0
        while i <= last {
            let ch = pattern[i]
            let target = last - i
            if ch == "\\" && i != last {
                out[target - 1] = ch
                out[target] = pattern[i + 1]
                i += 2
            } else {
                out[target] = ch
                i += 1
            }
        }
        return out
    }

    /// `${V/p/r}`: the leftmost match replaced by `replacement`, taken literally.
    func replaceFirst(in subject: [Unicode.Scalar], with replacement: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let ends = matchEnds(in: subject)
        guard let start = ends.firstIndex(where: { $0 >= 0 }) else { return subject }
        return Array(subject[..<start]) + replacement + subject[ends[start]...]
    }

    /// `${V//p/r}`: Go's `Regexp.ReplaceAllString`. Matches are non-overlapping, an empty match
    /// right after a previous match is skipped, and the replacement is a Go template: `$$` is
    /// `$`, `$0` / `${0}` is the matched text, any other `$name` / `${name}` is empty (the
    /// expression has no groups), and a `$` not followed by a name is literal.
    func replaceAll(in subject: [Unicode.Scalar], template: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let ends = matchEnds(in: subject)
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(subject.count)
        var lastMatchEnd = 0
        var searchPosition = 0
        while searchPosition <= subject.count {
            guard let start = ends[searchPosition...].firstIndex(where: { $0 >= 0 }) else { break }
            let end = ends[start]
            out.append(contentsOf: subject[lastMatchEnd..<start])
            if end > lastMatchEnd || start == 0 {
                Self.expand(template: template, match: subject[start..<end], into: &out)
            }
            lastMatchEnd = end
            // Advance past the match, and at least one character.
            let width = searchPosition < subject.count ? 1 : 0
            if searchPosition + width > end {
                searchPosition += width
            } else if searchPosition + 1 > end {
                searchPosition += 1
            } else {
                searchPosition = end
            }
        }
        out.append(contentsOf: subject[lastMatchEnd...])
        return out
    }

    /// Go's `Regexp.Expand` for an expression whose only group is the whole match.
    private static func expand(template: [Unicode.Scalar], match: ArraySlice<Unicode.Scalar>, into out: inout [Unicode.Scalar]) {
        var i = 0
        let n = template.count
        while i < n {
            let ch = template[i]
            i += 1
            guard ch == "$" else {
                out.append(ch)
                continue
            }
            if i < n && template[i] == "$" {
                out.append("$")
                i += 1
                continue
            }
            // A name: letters, digits and `_`, optionally in braces.
            var j = i
            let braced = j < n && template[j] == "{"
            if braced { j += 1 }
            let nameStart = j
            while j < n, template[j] == "_" || isGoLetter(template[j]) || isGoDigit(template[j]) { j += 1 }
            let nameEnd = j
            var valid = nameEnd > nameStart
            if valid && braced {
                if j < n && template[j] == "}" { j += 1 } else { valid = false }
            }
            guard valid else {
                out.append("$")  // malformed: the `$` is literal, scanning resumes after it
                continue
            }
            i = j
            // Group numbers have no leading zeros, so only a name of exactly "0" is a group.
            if nameEnd - nameStart == 1 && template[nameStart] == "0" {
                out.append(contentsOf: match)
            }
        }
    }

    // MARK: - Matching

    /// For every start position `s` in `0...text.count`, the end of the match that starts at
    /// `s`, or -1 where none does.
    ///
    /// Row by row from the last token: `ends` holds, for the pattern's tail from token `t`, the
    /// end the tail reaches from each position. A literal or `?` moves one character; a star
    /// picks, among the run ends its line allows (stars never cross a newline), the longest
    /// (greedy) or shortest (lazy) one from which the rest of the pattern matches, which is
    /// the choice a backtracking engine commits to.
    func matchEnds(in text: [Unicode.Scalar]) -> [Int] {
        let n = text.count
        var ends = Array(0...n)  // the empty tail matches everywhere, ending where it starts
        var next = [Int](repeating: -1, count: n + 1)
        for token in tokens.reversed() {
            switch token {
            case .literal(let scalar):
                for p in 0...n {
                    next[p] = p < n && text[p] == scalar ? ends[p + 1] : -1
                }
            case .any:
                for p in 0...n {
                    next[p] = p < n && text[p] != "\n" ? ends[p + 1] : -1
                }
            case .star:
                // Going down, `chosen` is the run end picked for positions from here to the end
                // of the line: the first good one met (the largest) when greedy, the last one
                // met (the smallest) when lazy.
                var chosen = -1
                var p = n
                while p >= 0 {
                    if p == n || text[p] == "\n" { chosen = -1 }
                    if ends[p] >= 0 && (chosen < 0 || !greedy) { chosen = p }
                    next[p] = chosen < 0 ? -1 : ends[chosen]
                    p -= 1
                }
            }
            swap(&ends, &next)
        }
        return ends
    }
}
