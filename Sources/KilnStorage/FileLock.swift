import Glibc

/// An advisory `flock(2)` lock on a lock file, shared between processes that use the same root.
///
/// The lock file is never removed: removing it would let a waiter lock a deleted inode while a
/// newcomer locks a fresh file at the same path. Each lock opens its own descriptor, so two
/// tasks of one process exclude each other just like two processes do.
final class FileLock: @unchecked Sendable {
    private var fd: Int32

    /// Opens (creating if needed) `path` and waits for the lock.
    init(path: String, exclusive: Bool) throws(StorageError) {
        let fd = try posix("open", path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644) }
        do {
            try posix("flock", path) { flock(fd, exclusive ? LOCK_EX : LOCK_SH) }
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
    }

    /// Takes the lock at `path` only if no one holds it; nil when someone does (or the file
    /// cannot be opened).
    init?(tryingPath path: String) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        self.fd = fd
    }

    /// Releases the lock; closing the descriptor is what releases a `flock`.
    func unlock() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    deinit { unlock() }
}

/// Runs `body` holding the lock at `path`. The wait happens on a thread of its own: a task
/// blocked in `flock` on a pool thread could starve the very task that holds the lock.
func withFileLock<T>(path: String, exclusive: Bool, _ body: () async throws -> T) async throws -> T {
    let lock = try await onOwnThread { try FileLock(path: path, exclusive: exclusive) }
    defer { lock.unlock() }
    return try await body()
}

/// Runs `body` holding the lock at `path`.
func withFileLock<T>(path: String, exclusive: Bool, _ body: () throws -> T) throws -> T {
    let lock = try FileLock(path: path, exclusive: exclusive)
    defer { lock.unlock() }
    return try body()
}
