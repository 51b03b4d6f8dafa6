/// One entry of a layer to write, as the snapshot diff produces them.
///
/// Paths are relative to the root being diffed, `/`-separated, without a leading `/` or `./`.
/// A list of changes handed to the layer writer is sorted by path (byte order), parents first.
public enum LayerChange: Sendable, Hashable {
    /// The entry at `path` in the source tree is new or changed: write it (file, directory,
    /// symlink, hardlink group member, fifo or device) with its current metadata.
    case write(path: String)
    /// The entry at `path` existed below and was removed: write `.wh.<name>`.
    case delete(path: String)
    /// The directory at `path` replaced one below (or was emptied wholesale): write
    /// `<path>/.wh..wh..opq` so nothing from lower layers shows through.
    case opaque(directory: String)

    /// The path the change is about.
    public var path: String {
        switch self {
        case .write(let p), .delete(let p), .opaque(let p): return p
        }
    }
}
