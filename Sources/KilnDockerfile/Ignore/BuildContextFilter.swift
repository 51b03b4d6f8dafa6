import Foundation

/// Which files of a build context a build may see, as decided by the build's ignore file.
///
/// Both questions it answers use the reference's parent rule
/// (``PatternMatcher/matchesOrParentMatches(_:)``), so a directory it lets a walk skip
/// never holds an entry it would include.
///
/// The ignore file is found the way BuildKit finds it: `<Dockerfile name>.dockerignore`
/// beside the Dockerfile (for `app/prod.Dockerfile`, `app/prod.Dockerfile.dockerignore`)
/// takes precedence over `.dockerignore` at the context root; with neither, nothing is
/// excluded.
public struct BuildContextFilter: Sendable {
    /// The file the patterns were read from; `nil` when the build has no ignore file.
    public let ignoreFile: URL?
    /// The patterns.
    public let matcher: PatternMatcher

    /// A filter with the given patterns (for callers that already have them).
    public init(matcher: PatternMatcher, ignoreFile: URL? = nil) {
        self.matcher = matcher
        self.ignoreFile = ignoreFile
    }

    /// Finds and reads the ignore file of a build.
    ///
    /// - Parameters:
    ///   - contextDirectory: The root of the build context.
    ///   - dockerfile: The Dockerfile, or `nil` when it does not come from a file (stdin).
    /// - Throws: ``IgnoreFileError`` when the ignore file exists but cannot be read or
    ///   holds an invalid pattern.
    public init(contextDirectory: URL, dockerfile: URL?) throws(IgnoreFileError) {
        guard let file = Self.ignoreFile(contextDirectory: contextDirectory, dockerfile: dockerfile) else {
            self.init(matcher: PatternMatcher())
            return
        }
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw .unreadable(file: file.path, reason: error.localizedDescription)
        }
        do throws(PatternError) {
            self.init(matcher: try PatternMatcher(DockerIgnoreFile.patterns(in: data)), ignoreFile: file)
        } catch {
            throw .invalidPattern(file: file.path, error)
        }
    }

    /// The ignore file a build uses: `<Dockerfile name>.dockerignore` in the Dockerfile's
    /// directory if it is a file, else `.dockerignore` in the context directory if it is a
    /// file, else `nil`.
    public static func ignoreFile(contextDirectory: URL, dockerfile: URL?) -> URL? {
        var candidates: [URL] = []
        if let dockerfile {
            candidates.append(dockerfile.deletingLastPathComponent()
                .appendingPathComponent(dockerfile.lastPathComponent + ".dockerignore"))
        }
        candidates.append(contextDirectory.appendingPathComponent(".dockerignore"))
        return candidates.first { candidate in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }
    }

    /// Whether the context entry at `relativePath` (`/`-separated, relative to the context
    /// root, e.g. `src/main.swift`) is excluded from the build. The path is cleaned first
    /// (`./a/`, `/a` and `a` are the same entry); the context root itself is never excluded.
    ///
    /// - Throws: ``PatternError/badPattern(_:)`` for a pattern that can only be rejected
    ///   when it is evaluated (a reversed range such as `[z-a]`).
    public func isExcluded(_ relativePath: String) throws(PatternError) -> Bool {
        guard let path = Self.contextRelative(relativePath) else { return false }
        return try matcher.matchesOrParentMatches(path)
    }

    /// Whether a walk of the context may skip the directory at `relativePath` without
    /// listing it: the directory is excluded and no exception pattern can re-include
    /// anything below it (see ``PatternMatcher/excludesEverything(under:)``).
    public func canSkipDirectory(_ relativePath: String) -> Bool {
        guard let path = Self.contextRelative(relativePath) else { return false }
        return matcher.excludesEverything(under: path)
    }

    /// `path` cleaned and without a leading `/`; `nil` for the context root. Ordinary
    /// relative paths are returned as they are, without allocating.
    static func contextRelative(_ path: String) -> String? {
        var path = path
        let isPlain = path.withUTF8 { bytes in
            SlashPath.isClean(bytes) && bytes[0] != UInt8(ascii: "/") && !(bytes.count == 1 && bytes[0] == UInt8(ascii: "."))
        }
        if isPlain { return path }
        let cleaned = SlashPath.clean(path)
        let relative = cleaned.utf8.first == UInt8(ascii: "/") ? String(cleaned.unicodeScalars.dropFirst()) : cleaned
        return relative.isEmpty || relative == "." ? nil : relative
    }
}

/// Why a build's ignore file cannot be used.
public enum IgnoreFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file exists but could not be read.
    case unreadable(file: String, reason: String)
    /// The file holds a pattern the matcher rejects.
    case invalidPattern(file: String, PatternError)

    /// The problem, prefixed with the ignore file's path.
    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            return "\(file): cannot read ignore file: \(reason)"
        case .invalidPattern(let file, let error):
            return "\(file): invalid ignore pattern: \(error)"
        }
    }
}
