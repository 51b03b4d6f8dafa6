import Foundation

/// Where the programs Kiln runs (runc, crun, slirp4netns, newuidmap, …) are looked for:
/// `$PATH`, then the standard system directories, which a `sudo` or service environment may
/// lack, each directory once.
public struct ExecutableSearch: Sendable {
    /// The directories, in the order they are tried.
    public let directories: [String]

    /// A search of `directories`, in order.
    public init(directories: [String]) {
        self.directories = directories
    }

    /// `$PATH` of this process, then the standard directories.
    public static var standard: ExecutableSearch {
        let path = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map(String.init) ?? []
        var seen = Set<String>()
        return ExecutableSearch(directories: (path + ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
            .filter { seen.insert($0).inserted })
    }

    /// The first executable file called `name` in the directories.
    public func find(_ name: String) -> String? {
        directories.lazy.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
