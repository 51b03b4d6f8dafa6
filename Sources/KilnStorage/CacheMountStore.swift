import Foundation
import Glibc
import KilnOCI

/// The directories behind `RUN --mount=type=cache`, one per cache id and trust scope, kept
/// across builds under `$KILN_ROOT/cache-mounts/`: `<hex>/` is the cache (hex = SHA-256 of
/// the id and the scope), `<hex>.json` names its id (its mtime is when a step last used it),
/// `<hex>.lock` is what `sharing` locks and `<hex>.sync.json` what it last exchanged with
/// registry caches. Never part of a layer or a cache key.
///
/// The scope is the one place that keeps builds of different trust apart on one machine:
/// a build that may write only a pull request's registry cache never shares a directory with
/// one that reads and writes the release cache, so nothing the first puts into its cache
/// mount can reach the second, locally or through a registry.
public struct CacheMountStore: Sendable {
    /// `$KILN_ROOT/cache-mounts`.
    public let directory: URL
    /// Which registry caches builds using these directories read and write (see
    /// ``scope(reads:writes:)``); empty for builds with none.
    public let scope: String

    /// The store under `directory` for builds of `scope`.
    public init(directory: URL, scope: String = "") {
        self.directory = directory
        self.scope = scope
    }

    /// The store of `root`, every scope (for `kiln cache du` and `prune`).
    public init(root: KilnRoot) {
        self.init(directory: root.url.appendingPathComponent("cache-mounts"))
    }

    /// The scope of a build that reads the registry caches `reads` and writes `writes`.
    public static func scope(reads: [String], writes: [String]) -> String {
        guard !reads.isEmpty || !writes.isEmpty else { return "" }
        return "reads=" + Set(reads).sorted().joined(separator: ",") + ";writes=" + Set(writes).sorted().joined(separator: ",")
    }

    /// How concurrent steps (of this build or of others on the machine) share one id: BuildKit's
    /// `sharing=` values.
    public enum Sharing: String, Sendable {
        /// Every step uses the same directory at once (the default).
        case shared
        /// A step that finds the directory in use gets a fresh one of its own, thrown away after.
        case `private`
        /// One step at a time; the others wait.
        case locked
    }

    /// What a new cache directory starts as: `mode`, `uid`, `gid` of its root (BuildKit's
    /// defaults 0755, 0, 0) and the files of `seed` (`from`/`source`), copied exactly.
    public struct Creation: Sendable {
        /// The permission bits of the directory.
        public var mode: UInt32
        /// Its owner.
        public var uid: UInt32
        /// Its group.
        public var gid: UInt32

        /// A directory made with `mode` (default 0755) owned by `uid`:`gid` (default 0:0).
        public init(mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil) {
            self.mode = mode ?? 0o755
            self.uid = uid ?? 0
            self.gid = gid ?? 0
        }
    }

    /// A cache directory in use by one step; ``release()`` when the step is done.
    public final class Lease: @unchecked Sendable {
        /// What to mount.
        public let path: URL
        private var lock: Int32
        private let discard: Bool

        init(path: URL, lock: Int32, discard: Bool) {
            self.path = path
            self.lock = lock
            self.discard = discard
        }

        /// Gives the directory back: unlocks it, and removes a private one-off.
        public func release() {
            if lock >= 0 { close(lock) }
            lock = -1
            if discard { try? FileManager.default.removeItem(at: path) }
        }

        deinit { release() }
    }

    /// The directory name of `id` in this scope.
    func name(of id: String) -> String {
        Digest.sha256(of: Data((scope.isEmpty ? id : id + "\0" + scope).utf8)).encoded
    }

    /// The directory of cache `id` in this scope (which may not exist yet).
    public func path(of id: String) -> URL {
        directory.appendingPathComponent(name(of: id))
    }

    /// Takes cache `id` for one step. A new cache is made from `creation` and the directory
    /// `seed` returns (called only then). Waiting for a lock (`locked`, or `shared` while a
    /// `locked` step holds it) polls, so cancelling the build ends the wait at once.
    /// `scratch` is where a `private` step's one-off directory goes when the cache is busy.
    ///
    /// `fill`, when given, brings the directory up to date (an import from a registry cache)
    /// before the step gets it, while no other step holds it: the lease waits up to
    /// `fillWait` for the others to let go, and skips `fill` (calling `skipped`) if they do not.
    public func lease(id: String, sharing: Sharing, creation: Creation, scratch: URL,
                      fill: (@Sendable (URL) async -> Void)? = nil, fillWait: Duration = .seconds(10),
                      skipped: @Sendable () -> Void = {},
                      seed: @Sendable () async throws -> URL?) async throws -> Lease {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let name = self.name(of: id)
        let lockPath = directory.appendingPathComponent(name + ".lock").path
        let fd = try posix("open", lockPath) { open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        var fill = fill
        do {
            switch sharing {
            case .shared:
                if fill != nil, try await Self.waitForLock(fd, LOCK_EX, within: fillWait) {
                    break
                }
                if fill != nil { skipped() }
                fill = nil
                try await Self.waitForLock(fd, LOCK_SH)
            case .locked: try await Self.waitForLock(fd, LOCK_EX)
            case .private:
                if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                    close(fd)
                    let oneOff = scratch.appendingPathComponent("cache-\(UUID().uuidString.lowercased())")
                    try await make(oneOff, creation: creation, seed: try await seed())
                    return Lease(path: oneOff, lock: -1, discard: true)
                }
            }
            let path = directory.appendingPathComponent(name)
            if !FileManager.default.fileExists(atPath: path.path) {
                let staging = directory.appendingPathComponent(".new-\(name)-\(UUID().uuidString.lowercased())")
                do {
                    try await make(staging, creation: creation, seed: try await seed())
                    // Two shared steps may both have made one: the first rename wins.
                    if rename(staging.path, path.path) != 0 { try? FileManager.default.removeItem(at: staging) }
                } catch {
                    try? FileManager.default.removeItem(at: staging)
                    throw error
                }
            }
            try Self.record(id: scope.isEmpty ? id : "\(id) (\(scope))", at: directory.appendingPathComponent(name + ".json"))
            if let fill {
                await fill(path)
                // Filled under the exclusive lock; a shared step now shares it again.
                if sharing == .shared { try await Self.waitForLock(fd, LOCK_SH) }
            }
            return Lease(path: path, lock: fd, discard: false)
        } catch {
            close(fd)
            throw error
        }
    }

    /// Makes `path` as `creation` says, with the files of `seed` when there is one.
    private func make(_ path: URL, creation: Creation, seed: URL?) async throws {
        if let seed {
            var info = stat()
            guard stat(seed.path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw StorageError.system(operation: "seed a cache mount from", path: seed.path, errno: ENOTDIR)
            }
            try await TreeCopier.copy(from: seed, to: path)
        } else {
            _ = try posix("mkdir", path.path) { mkdir(path.path, 0o700) }
        }
        _ = try posix("chown", path.path) { chown(path.path, creation.uid, creation.gid) }
        _ = try posix("chmod", path.path) { chmod(path.path, mode_t(creation.mode & 0o7777)) }
    }

    /// Waits for the lock; with `within`, gives up after that long and returns false.
    @discardableResult
    private static func waitForLock(_ fd: Int32, _ operation: Int32, within: Duration? = nil) async throws -> Bool {
        let deadline = within.map { ContinuousClock.now + $0 }
        while flock(fd, operation | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw StorageError.system(operation: "flock", path: "cache mount lock", errno: errno)
            }
            if let deadline, ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
        return true
    }

    /// Writes (or touches) the id record: its mtime is the last use.
    private static func record(id: String, at file: URL) throws {
        if FileManager.default.fileExists(atPath: file.path) {
            _ = utimes(file.path, nil)
        } else {
            try StagedFile.write(Data(id.utf8), to: file)
        }
    }
}

/// One cache id's use of the disk, for `kiln cache du`.
public struct CacheMountUsage: Sendable, Hashable, Codable {
    /// The id (`id=`, else the target), or the directory's name when no record names it.
    public var id: String
    /// Bytes the files take (allocated blocks).
    public var bytes: Int64
    /// When a step last used it.
    public var lastUsed: Date
}

extension CacheMountStore {
    /// Every cache id with its size and last use, largest first.
    public func usage() -> [CacheMountUsage] {
        cacheDirectories().map { name, path in
            let record = directory.appendingPathComponent(name + ".json")
            let id = (try? String(contentsOf: record, encoding: .utf8)) ?? name
            return CacheMountUsage(id: id, bytes: Self.allocatedBytes(under: path), lastUsed: Self.lastUse(record, or: path))
        }.sorted { ($0.bytes, $0.id) > ($1.bytes, $1.id) }
    }

    /// Removes the caches no step used since `cutoff` and that no step holds now; returns
    /// how many went and their bytes.
    public func prune(unusedSince cutoff: Date) -> (count: Int, bytes: Int64) {
        var removed = (count: 0, bytes: Int64(0))
        for (name, path) in cacheDirectories() {
            let record = directory.appendingPathComponent(name + ".json")
            guard Self.lastUse(record, or: path) < cutoff else { continue }
            let lockPath = directory.appendingPathComponent(name + ".lock").path
            let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            // A step holding it (any sharing) keeps it.
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            let bytes = Self.allocatedBytes(under: path)
            guard (try? FileManager.default.removeItem(at: path)) != nil else { continue }
            unlink(record.path)
            unlink(directory.appendingPathComponent(name + ".sync.json").path)
            removed.count += 1
            removed.bytes += bytes
        }
        // Staging directories of builds that died while making a cache.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasPrefix(".new-") {
            let path = directory.appendingPathComponent(name)
            if Self.lastUse(path, or: path) < cutoff { try? FileManager.default.removeItem(at: path) }
        }
        return removed
    }

    private func cacheDirectories() -> [(name: String, path: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.count == 64 && $0.allSatisfy(\.isHexDigit) }.map { ($0, directory.appendingPathComponent($0)) }
    }

    private static func lastUse(_ record: URL, or fallback: URL) -> Date {
        var info = stat()
        guard stat(record.path, &info) == 0 || stat(fallback.path, &info) == 0 else { return .distantPast }
        return Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec))
    }

    private static func allocatedBytes(under path: URL) -> Int64 {
        var total: Int64 = 0
        var info = stat()
        guard let walker = FileManager.default.enumerator(atPath: path.path) else { return 0 }
        for case let relative as String in walker where lstat(path.path + "/" + relative, &info) == 0 {
            total += Int64(info.st_blocks) * 512
        }
        return total
    }
}
