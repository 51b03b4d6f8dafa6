import Foundation
import KilnDockerfile

/// The files a build may read: a directory and the ignore file that hides part of it
/// (`<Dockerfile>.dockerignore` beside the Dockerfile, else `.dockerignore` at the root).
public struct BuildContext: Sendable {
    /// The context root, absolute, symlinks in its own path resolved.
    public let directory: URL
    /// The Dockerfile the build uses, when it is a file.
    public let dockerfile: URL?
    /// What the ignore file excludes.
    public let filter: BuildContextFilter

    /// The context rooted at `directory`, with the ignore file that goes with `dockerfile`.
    ///
    /// - Throws: ``FileOperationError`` when the directory does not exist or is not a
    ///   directory, or when the ignore file cannot be read or holds a bad pattern.
    public init(directory: URL, dockerfile: URL?) throws {
        let resolved = directory.standardizedFileURL.resolvingSymlinksInPath()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: resolved.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileOperationError("unable to prepare context: path \"\(directory.path)\" not found or not a directory")
        }
        do {
            filter = try BuildContextFilter(contextDirectory: resolved, dockerfile: dockerfile)
        } catch {
            throw FileOperationError(error.description)
        }
        self.directory = resolved
        self.dockerfile = dockerfile
    }

    /// The context root as a path string.
    var rootPath: String { directory.path }
}
