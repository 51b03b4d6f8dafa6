import Foundation

/// Kiln's local state directory and its fixed layout.
///
/// `$KILN_ROOT`, else `$XDG_DATA_HOME/kiln`, else `~/.local/share/kiln`:
/// `blobs/sha256/…` (content store), `snapshots/<chainID>/` (unpacked chains),
/// `cache/` (local cache entries), `tmp/` (per-build scratch).
public struct KilnRoot: Sendable, Hashable {
    /// The root directory.
    public let url: URL

    /// A root at an explicit directory.
    public init(url: URL) { self.url = url }

    /// The root chosen from the environment, as described above.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> KilnRoot {
        if let root = environment["KILN_ROOT"], !root.isEmpty {
            return KilnRoot(url: URL(fileURLWithPath: root))
        }
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty {
            return KilnRoot(url: URL(fileURLWithPath: xdg).appendingPathComponent("kiln"))
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        return KilnRoot(url: home.appendingPathComponent(".local/share/kiln"))
    }

    /// `blobs/` — the content store.
    public var blobs: URL { url.appendingPathComponent("blobs") }
    /// `snapshots/` — unpacked layer chains by chain ID.
    public var snapshots: URL { url.appendingPathComponent("snapshots") }
    /// `cache/` — local cache entries.
    public var cache: URL { url.appendingPathComponent("cache") }
    /// `tmp/` — per-build scratch, removed at the end of every build.
    public var tmp: URL { url.appendingPathComponent("tmp") }
}
