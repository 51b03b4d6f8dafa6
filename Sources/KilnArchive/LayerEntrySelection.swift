import Synchronization

/// Which entries a partial application of layers applies: every directory, symbolic link,
/// whiteout and opaque marker (the tree's shape, cheap to make: a path resolves in it as in
/// the whole tree), and other entries only at a path in ``paths``. The paths of the entries
/// left out are noted (``skippedPaths``).
///
/// Applying every layer of a chain this way, bottom first, gives a directory whose state at a
/// path is the whole root filesystem's wherever the path is in ``paths`` (which must hold
/// every ancestor of each of its paths: ``closed(_:)`` makes such a set) or no entry there
/// was left out.
///
/// A selected hard link whose target was left out cannot be made: it is skipped too, and its
/// target noted in ``missingLinkTargets`` for the caller to select and apply again.
public final class LayerEntrySelection: Sendable {
    /// Relative paths, `/`-separated, without a leading `/` or `./`.
    public let paths: Set<String>
    private let skipped = Mutex<Set<String>>([])
    private let missing = Mutex<Set<String>>([])

    /// A selection of `paths` (each ancestor of a path must be in it too).
    public init(paths: Set<String>) {
        self.paths = paths
    }

    /// Paths of entries that were left out.
    public var skippedPaths: Set<String> { skipped.withLock { $0 } }

    /// Targets of selected hard links that were left out, so the links were left out too.
    public var missingLinkTargets: Set<String> { missing.withLock { $0 } }

    /// `paths` and every ancestor of each (the root, the empty path, left out).
    public static func closed(_ paths: some Sequence<String>) -> Set<String> {
        var closed = Set<String>()
        for path in paths {
            var current = Substring(path)
            while !current.isEmpty, closed.insert(String(current)).inserted {
                guard let slash = current.lastIndex(of: "/") else { break }
                current = current[..<slash]
            }
        }
        return closed
    }

    /// Whether `header`'s entry is applied. Paths an applier would refuse throw the same error,
    /// selected or not, so a partial application fails wherever a whole one does.
    func keeps(_ header: TarHeader) throws -> Bool {
        let components = try LayerApplication.clean(header.path, entry: header.path)
        guard let name = components.last, !name.hasPrefix(Whiteout.prefix) else { return true }
        switch header.kind {
        case .directory, .symlink:
            return true
        default:
            break
        }
        let path = components.joined(separator: "/")
        guard paths.contains(path) else {
            skipped.withLock { _ = $0.insert(path) }
            return false
        }
        if case .hardlink(let target) = header.kind {
            let targetPath = try LayerApplication.clean(target, entry: header.path).joined(separator: "/")
            if !paths.contains(targetPath), skipped.withLock({ $0.contains(targetPath) }) {
                missing.withLock { _ = $0.insert(targetPath) }
                skipped.withLock { _ = $0.insert(path) }
                return false
            }
        }
        return true
    }
}
