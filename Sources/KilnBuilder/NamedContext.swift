import Foundation
import KilnFileOps
import KilnOCI

/// A BuildKit-style named context, `--build-context NAME=VALUE`: what `FROM NAME`,
/// `COPY --from=NAME` and `RUN --mount=…,from=NAME` read instead of a registry image or a stage.
public struct NamedContext: Sendable, Hashable {
    /// What a named context holds.
    public enum Value: Sendable, Hashable {
        /// `oci-layout:///PATH[:TAG|@sha256:…]`: an image in an OCI layout on disk.
        case ociLayout(Layout)
        /// `PATH` (absolute, or relative to the current directory): a local directory, read
        /// like the main context (after its own `.dockerignore`); not an image, so not for `FROM`.
        case directory(URL)
        /// `docker-image://REF`: the registry image REF, wherever NAME is named.
        case image(String)
    }

    /// An image in an OCI layout directory.
    public struct Layout: Sendable, Hashable {
        /// The OCI layout directory.
        public var directory: URL
        /// The `org.opencontainers.image.ref.name` to pick; nil with a digest or a single image.
        public var tag: String?
        /// The manifest digest to pick.
        public var digest: Digest?

        /// Creates a layout reference.
        public init(directory: URL, tag: String? = nil, digest: Digest? = nil) {
            self.directory = directory
            self.tag = tag
            self.digest = digest
        }
    }

    /// The name as `FROM`/`COPY --from` write it.
    public var name: String
    /// What the name stands for.
    public var value: Value

    /// Creates a named context.
    public init(name: String, value: Value) {
        self.name = name
        self.value = value
    }

    /// Creates a named context of an image in an OCI layout.
    public init(name: String, layout: URL, tag: String? = nil, digest: Digest? = nil) {
        self.init(name: name, value: .ociLayout(Layout(directory: layout, tag: tag, digest: digest)))
    }

    /// The local directory, when this context is one.
    public var directory: URL? {
        if case .directory(let url) = value { return url }
        return nil
    }

    /// Parses `NAME=oci-layout:///PATH[:TAG|@sha256:…]`, `NAME=docker-image://REF` or
    /// `NAME=PATH` (a local directory; a relative path is relative to `currentDirectory`, as
    /// BuildKit's is to the working directory). Whether the directory exists is checked when
    /// the build starts (``BuildRequest/checkNamedContexts()``).
    public init(parsing text: String,
                currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) throws(BuildError) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw BuildError.invalidOption("--build-context \(text): expected NAME=PATH, NAME=docker-image://REF or NAME=oci-layout:///PATH[:TAG|@sha256:…]")
        }
        let name = String(text[..<equals])
        let value = Substring(text[text.index(after: equals)...])
        if value.hasPrefix("oci-layout://") {
            self.init(name: name, value: .ociLayout(try Self.layout(value.dropFirst("oci-layout://".count), name: name)))
        } else if value.hasPrefix("docker-image://") {
            let reference = String(value.dropFirst("docker-image://".count))
            do {
                _ = try Reference(parsing: reference)
            } catch {
                throw BuildError.invalidOption("--build-context \(name): \"\(reference)\" is not an image reference: \(error)")
            }
            self.init(name: name, value: .image(reference))
        } else if value.contains("://") || value.hasPrefix("target:") {
            throw BuildError.invalidOption(
                "--build-context \(name): only local directories, docker-image:// and oci-layout:// contexts are supported, got \"\(value)\"")
        } else {
            guard !value.isEmpty else { throw BuildError.invalidOption("--build-context \(name): the directory path is empty") }
            let url = value.hasPrefix("/") ? URL(fileURLWithPath: String(value))
                                           : currentDirectory.appendingPathComponent(String(value))
            self.init(name: name, value: .directory(URL(fileURLWithPath: url.standardizedFileURL.path)))
        }
    }

    /// The `PATH[:TAG|@sha256:…]` of an `oci-layout://` value.
    private static func layout(_ text: Substring, name: String) throws(BuildError) -> Layout {
        var value = text
        var digest: Digest?
        if let at = value.lastIndex(of: "@") {
            guard let parsed = Digest(String(value[value.index(after: at)...])) else {
                throw BuildError.invalidOption("--build-context \(name): \"\(value[value.index(after: at)...])\" is not a digest")
            }
            digest = parsed
            value = value[..<at]
        }
        var tag: String?
        if let colon = value.lastIndex(of: ":"), !value[value.index(after: colon)...].contains("/") {
            tag = String(value[value.index(after: colon)...])
            value = value[..<colon]
        }
        guard value.hasPrefix("/") else {
            throw BuildError.invalidOption("--build-context \(name): the layout path must be absolute (oci-layout:///PATH)")
        }
        return Layout(directory: URL(fileURLWithPath: String(value)), tag: tag, digest: digest)
    }

    /// Whether a `FROM`/`COPY --from` word names this context: exactly, or for an image
    /// context as the same normalised reference (`busybox` and `docker.io/library/busybox:latest`).
    /// A directory is named exactly (the Dockerfile plan matches it by name, see
    /// `BuildOptions.directoryContexts`).
    func matches(_ word: String) -> Bool {
        if word == name { return true }
        if case .directory = value { return false }
        guard let mine = try? Reference(parsing: name), let theirs = try? Reference(parsing: word) else { return false }
        return mine == theirs
    }
}

extension [NamedContext] {
    /// The context `word` names: the last one given that matches, as later flags win.
    func named(_ word: String) -> NamedContext? {
        last { $0.matches(word) }
    }

    /// Names whose context is a local directory (the last flag for a name wins).
    var directoryNames: Set<String> {
        Set(map(\.name).filter { named($0)?.directory != nil })
    }
}

extension BuildRequest {
    /// Refuses, before anything is read or run, a directory context that is missing, not a
    /// directory, or whose `.dockerignore` cannot be read.
    func checkNamedContexts() throws {
        for context in namedContexts {
            guard let directory = context.directory, namedContexts.named(context.name) == context else { continue }
            var info = stat()
            guard stat(directory.path, &info) == 0 else {
                throw BuildError.namedContext(context.name, "the directory \(directory.path) does not exist")
            }
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw BuildError.namedContext(context.name, "\(directory.path) is not a directory")
            }
            do {
                _ = try BuildContext(directory: directory, dockerfile: nil)
            } catch {
                throw BuildError.namedContext(context.name, "\(error)")
            }
        }
    }
}
