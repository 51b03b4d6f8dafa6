/// OCI whiteout names: how a layer says "this path from below is gone".
enum Whiteout {
    /// Prefix of a deletion marker: `dir/.wh.name` deletes `dir/name`.
    static let prefix = ".wh."
    /// Name of the opaque-directory marker: nothing from lower layers shows through its directory.
    static let opaqueMarker = ".wh..wh..opq"

    /// The marker path that deletes `path`.
    static func deletionMarker(for path: String) -> String {
        let (parent, name) = ArchivePath.split(path)
        return ArchivePath.join(parent, prefix + name)
    }

    /// The marker path that makes `directory` opaque.
    static func opaqueMarker(in directory: String) -> String {
        ArchivePath.join(directory, opaqueMarker)
    }
}

/// Layer path arithmetic on `/`-separated relative paths.
enum ArchivePath {
    /// Splits `a/b/c` into (`a/b`, `c`); a single component has an empty parent.
    static func split(_ path: String) -> (parent: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// Joins a parent (possibly empty) and a name.
    static func join(_ parent: String, _ name: String) -> String {
        parent.isEmpty ? name : parent + "/" + name
    }

    /// The sort key that makes plain byte order equal component-wise order: `/` sorts before
    /// every other byte, so a directory's entries come right after it and before its siblings.
    static func sortKey(_ path: String) -> [UInt8] {
        path.utf8.map { $0 == UInt8(ascii: "/") ? 0 : $0 }
    }
}
