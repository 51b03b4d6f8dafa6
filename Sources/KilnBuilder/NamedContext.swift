import Foundation
import KilnOCI

/// A BuildKit-style named context, `--build-context NAME=oci-layout:///PATH[:TAG|@sha256:…]`:
/// `FROM NAME` and `COPY --from=NAME` read the image in that OCI layout instead of a registry.
public struct NamedContext: Sendable, Hashable {
    /// The name as `FROM`/`COPY --from` write it.
    public var name: String
    /// The OCI layout directory.
    public var layout: URL
    /// The `org.opencontainers.image.ref.name` to pick; nil with a digest or a single image.
    public var tag: String?
    /// The manifest digest to pick.
    public var digest: Digest?

    /// Creates a named context.
    public init(name: String, layout: URL, tag: String? = nil, digest: Digest? = nil) {
        self.name = name
        self.layout = layout
        self.tag = tag
        self.digest = digest
    }

    /// Parses `NAME=oci-layout:///PATH[:TAG|@sha256:…]`.
    public init(parsing text: String) throws(BuildError) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw BuildError.invalidOption("--build-context \(text): expected NAME=oci-layout:///PATH[:TAG|@sha256:…]")
        }
        let name = String(text[..<equals])
        var value = Substring(text[text.index(after: equals)...])
        let scheme = "oci-layout://"
        guard value.hasPrefix(scheme) else {
            throw BuildError.invalidOption("--build-context \(name): only oci-layout:// contexts are supported, got \"\(value)\"")
        }
        value = value.dropFirst(scheme.count)
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
        self.init(name: name, layout: URL(fileURLWithPath: String(value)), tag: tag, digest: digest)
    }

    /// Whether a `FROM`/`COPY --from` word names this context: exactly, or as the same
    /// normalised reference (`busybox` and `docker.io/library/busybox:latest`).
    func matches(_ word: String) -> Bool {
        if word == name { return true }
        guard let mine = try? Reference(parsing: name), let theirs = try? Reference(parsing: word) else { return false }
        return mine == theirs
    }
}
