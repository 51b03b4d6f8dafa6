/// A `--chmod` value: octal (`0755`, `644`) or symbolic (`u+x,go-w`, `a=rX`), as BuildKit
/// accepts them, applied to every copied file and directory (symlinks keep theirs).
struct ModeSpec: Sendable {
    private enum Form: Sendable {
        case octal(UInt32)
        case symbolic([Clause])
    }

    private struct Clause: Sendable {
        var who: UInt32       // mask of the permission bits the clause touches
        var operation: Character
        var permissions: String
    }

    private let form: Form

    /// Parses `spec`.
    init(_ spec: String) throws(FileOperationError) {
        if !spec.isEmpty, spec.allSatisfy({ ("0"..."7").contains($0) }), spec.count <= 4, let value = UInt32(spec, radix: 8) {
            form = .octal(value)
            return
        }
        var clauses: [Clause] = []
        for part in spec.split(separator: ",", omittingEmptySubsequences: false) {
            guard let opIndex = part.firstIndex(where: { "+-=".contains($0) }) else { throw Self.invalid(spec) }
            var who: UInt32 = 0
            for c in part[..<opIndex] {
                switch c {
                case "u": who |= 0o4700
                case "g": who |= 0o2070
                case "o": who |= 0o0007
                case "a": who |= 0o6777
                default: throw Self.invalid(spec)
                }
            }
            if who == 0 { who = 0o6777 }
            let permissions = String(part[part.index(after: opIndex)...])
            guard permissions.allSatisfy({ "rwxXst".contains($0) }) else { throw Self.invalid(spec) }
            clauses.append(Clause(who: who, operation: part[opIndex], permissions: permissions))
        }
        guard !clauses.isEmpty else { throw Self.invalid(spec) }
        form = .symbolic(clauses)
    }

    /// The mode an entry gets, from its source mode (permission bits only).
    func apply(to mode: UInt32, isDirectory: Bool) -> UInt32 {
        switch form {
        case .octal(let value):
            return value
        case .symbolic(let clauses):
            var mode = mode & 0o7777
            for clause in clauses {
                var bits: UInt32 = 0
                for p in clause.permissions {
                    switch p {
                    case "r": bits |= 0o444
                    case "w": bits |= 0o222
                    case "x": bits |= 0o111
                    case "X": if isDirectory || mode & 0o111 != 0 { bits |= 0o111 }
                    case "s": bits |= 0o6000
                    case "t": bits |= 0o1000
                    default: break
                    }
                }
                bits &= clause.who | (clause.permissions.contains("t") ? 0o1000 : 0)
                switch clause.operation {
                case "+": mode |= bits
                case "-": mode &= ~bits
                default: mode = (mode & ~(clause.who & 0o777)) | bits
                }
            }
            return mode
        }
    }

    private static func invalid(_ spec: String) -> FileOperationError {
        FileOperationError("invalid chmod parameter: \(spec): expected an octal mode such as 0755 or a symbolic one such as u+x")
    }
}
