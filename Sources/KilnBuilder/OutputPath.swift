import Foundation

/// A path a build writes its result to (an `--output` destination, `--iidfile`,
/// `--metadata-file`), checked before the build starts so that a wrong one costs no build.
///
/// Missing parent directories are fine: they are created when the result is written (as
/// BuildKit does), not before, so a build that fails leaves no empty directories behind.
public enum OutputPath {
    /// What the path will be.
    public enum Kind: Sendable {
        /// A file, replaced if it exists.
        case file
        /// A directory (an OCI layout), created or added to.
        case directory
    }

    /// Throws, naming `purpose` (`--output type=docker`, `--iidfile`), when `url` cannot become a
    /// `kind`: it exists as the other kind, or it or its nearest existing ancestor is not
    /// writable, or that ancestor is not a directory.
    public static func check(_ url: URL, as kind: Kind, for purpose: String) throws(BuildError) {
        func refuse(_ why: String) -> BuildError { .invalidOption("\(purpose) \(url.path): \(why)") }
        var info = stat()
        if stat(url.path, &info) == 0 {
            let isDirectory = info.st_mode & S_IFMT == S_IFDIR
            switch kind {
            case .file where isDirectory: throw refuse("is a directory; name a file")
            case .directory where !isDirectory: throw refuse("exists and is not a directory")
            default: break
            }
            if access(url.path, W_OK) != 0 { throw refuse("is not writable") }
            return
        }
        var ancestor = url.deletingLastPathComponent()
        while stat(ancestor.path, &info) != 0 {
            guard errno == ENOENT, ancestor.path != "/" else { throw refuse("cannot look at \(ancestor.path): \(String(cString: strerror(errno)))") }
            ancestor = ancestor.deletingLastPathComponent()
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw refuse("\(ancestor.path) is not a directory") }
        guard access(ancestor.path, W_OK | X_OK) == 0 else { throw refuse("cannot create it: \(ancestor.path) is not writable") }
    }

    /// Creates the missing parent directories of `url` (mode 0777 less the umask, as
    /// `mkdir -p`); the error names the directory that could not be made and why.
    public static func makeParentDirectories(of url: URL) throws(BuildError) {
        var missing: [String] = []
        var directory = url.deletingLastPathComponent()
        var info = stat()
        while stat(directory.path, &info) != 0, errno == ENOENT, directory.path != "/" {
            missing.append(directory.path)
            directory = directory.deletingLastPathComponent()
        }
        for path in missing.reversed() where mkdir(path, 0o777) != 0 && errno != EEXIST {
            throw BuildError.invalidOption("cannot create \(path) for \(url.path): \(String(cString: strerror(errno)))")
        }
    }
}

extension OutputTarget {
    /// Checks the destination before the build starts (see ``OutputPath``).
    public func check() throws(BuildError) {
        switch self {
        case .ociLayout(let directory, _): try OutputPath.check(directory, as: .directory, for: "--output type=oci")
        case .dockerArchive(let file, _): try OutputPath.check(file, as: .file, for: "--output type=docker")
        case .registry: break
        }
    }

    /// Throws when the target cannot hold images of several platforms: a docker-archive is
    /// what `docker load` reads, one image of one platform. Checked before a multi-platform
    /// build starts and again when its index is exported.
    public func checkHoldsIndex() throws(BuildError) {
        if case .dockerArchive(let file, _) = self {
            throw BuildError.invalidOption("--output type=docker,dest=\(file.path) holds one image of one platform; "
                + "build several platforms into type=oci or type=registry, or build each platform into its own archive")
        }
    }

    /// Creates the missing parent directories of the destination, just before it is written.
    func makeParentDirectories() throws(BuildError) {
        switch self {
        case .ociLayout(let directory, _): try OutputPath.makeParentDirectories(of: directory)
        case .dockerArchive(let file, _): try OutputPath.makeParentDirectories(of: file)
        case .registry: break
        }
    }
}
