import Foundation
import Glibc

/// What one build owns under the root while it runs, written down so that whatever a build
/// killed with SIGKILL (or a power cut) left behind can be found and removed by the next Kiln
/// that starts on the same root: its scratch directory (`tmp/build-*`: rootfs overlays, bundles
/// whose `config.json` may hold secrets, network namespace files, layer files), the mounts
/// below it, the OCI runtime containers whose bundles are there, and its content-store ingest
/// temp files, and the temp chain directories of `snapshots/` it was unpacking into.
///
/// Records live in `$KILN_ROOT/owners/<id>.json`. Each build holds an exclusive `flock` on
/// `owners/<id>.lock` for its whole life; the kernel drops it when the process dies, however it
/// dies, so a lock that can be taken is the sign of a dead owner. The process id and start time
/// (`/proc/PID/stat`) are a second check and what ingest temp file names carry. Records are
/// created, and reclaimed, under the root-wide `owners/.lock`.
public struct OwnershipRecord: Codable, Sendable, Equatable {
    /// The build's id (also its scratch directory's suffix).
    public var id: String
    /// The owning process.
    public var pid: Int32
    /// The owning process's start time in clock ticks since boot (field 22 of `/proc/PID/stat`),
    /// which tells it apart from a later process given the same pid.
    public var startTime: UInt64
    /// The scratch directory: `tmp/build-<id>`.
    public var scratch: String
    /// The OCI runtime binary the build ran steps with, once it ran one.
    public var runtime: String?
    /// The runtime's state directory (`--root`).
    public var runtimeState: String
}

/// One live build's hold on its ``OwnershipRecord``; ``release()`` (or deinit) when it ends.
public final class BuildOwnership: @unchecked Sendable {
    /// The record as written.
    public private(set) var record: OwnershipRecord
    private let root: KilnRoot
    private var lock: FileLock?
    private let mutex = NSLock()

    /// Records that this process owns `scratch`, whose containers keep their state in `runtimeState`.
    public init(root: KilnRoot, id: String, scratch: URL, runtimeState: URL) throws {
        let me = getpid()
        guard let start = ProcessIdentity.startTime(of: me) else {
            throw StorageError.system(operation: "read", path: "/proc/\(me)/stat", errno: errno)
        }
        self.root = root
        record = OwnershipRecord(id: id, pid: me, startTime: start, scratch: scratch.path, runtime: nil,
                                 runtimeState: runtimeState.path)
        try createDirectory(root.owners.path, mode: 0o700)
        let record = record
        lock = try withFileLock(path: root.owners.path + "/.lock", exclusive: true) { () throws -> FileLock in
            let held = try FileLock(path: root.owners.path + "/\(id).lock", exclusive: true)
            try Self.write(record, root: root)
            return held
        }
    }

    /// Notes the runtime binary, so a reclaimer can stop this build's containers.
    public func noteRuntime(_ executable: URL) throws {
        try mutex.withLock {
            guard record.runtime != executable.path else { return }
            record.runtime = executable.path
            try Self.write(record, root: root)
        }
    }

    /// Removes the record: everything it named is gone. Call once the scratch directory is removed.
    public func release() {
        mutex.withLock {
            guard let held = lock else { return }
            unlink(root.owners.path + "/\(record.id).json")
            unlink(root.owners.path + "/\(record.id).lock")
            held.unlock()
            lock = nil
        }
    }

    deinit { release() }

    private static func write(_ record: OwnershipRecord, root: KilnRoot) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try StagedFile.write(try encoder.encode(record), to: root.owners.appendingPathComponent("\(record.id).json"))
    }

    /// Finds the records of dead builds on `root` and reclaims each: `stopContainers` stops and
    /// deletes the runtime containers whose bundles are under its scratch directory, then every
    /// mount under the scratch directory is detached, the directory and the build's ingest temp
    /// files removed, and the record dropped. A live build's record (its lock held) is never
    /// touched. Returns the records reclaimed.
    @discardableResult
    public static func reclaimAbandoned(
        root: KilnRoot, stopContainers: (OwnershipRecord) async -> Void
    ) async throws -> [OwnershipRecord] {
        guard FileManager.default.fileExists(atPath: root.owners.path) else { return [] }
        return try await withFileLock(path: root.owners.path + "/.lock", exclusive: true) { () async throws -> [OwnershipRecord] in
            var reclaimed: [OwnershipRecord] = []
            for name in (try? FileManager.default.contentsOfDirectory(atPath: root.owners.path)) ?? [] where name.hasSuffix(".json") {
                let id = String(name.dropLast(5))
                guard let held = FileLock(tryingPath: root.owners.path + "/\(id).lock") else { continue }
                defer { held.unlock() }
                guard let data = FileManager.default.contents(atPath: root.owners.path + "/" + name),
                      let record = try? JSONDecoder().decode(OwnershipRecord.self, from: data) else {
                    // Torn or foreign: nothing to act on, and no live build holds it.
                    unlink(root.owners.path + "/" + name)
                    unlink(root.owners.path + "/\(id).lock")
                    continue
                }
                if ProcessIdentity.startTime(of: record.pid) == record.startTime { continue }
                // Only paths under this root's tmp are ever removed, whatever the record says.
                let scratch = URL(fileURLWithPath: record.scratch).standardizedFileURL
                guard scratch.path.hasPrefix(root.tmp.standardizedFileURL.path + "/") else { continue }
                await stopContainers(record)
                MountTable.detachAll(under: scratch.path)
                try? FileManager.default.removeItem(at: scratch)
                unlink(root.owners.path + "/" + name)
                unlink(root.owners.path + "/\(id).lock")
                reclaimed.append(record)
            }
            // Temp files outlive the record that names their build (an export after the build,
            // a context read from stdin before it): each carries its creator's pid and start
            // time, so whatever a dead process made goes, whichever command made it.
            ContentStore(root: root).removeIngestFilesOfDeadProcesses()
            // A chain directory being unpacked lives beside the snapshots, not in the scratch; and
            // snapshots an earlier boot left unsynced may be torn: gone before anything stacks them.
            SnapshotStore(root: root).sweep()
            for name in (try? FileManager.default.contentsOfDirectory(atPath: root.tmp.path)) ?? []
            where ProcessIdentity.scratchPrefixes.contains(where: name.hasPrefix) {
                let fields = name.split(separator: "-")
                guard fields.count > 3, let pid = Int32(fields[1]), let start = UInt64(fields[2]),
                      ProcessIdentity.startTime(of: pid) != start else { continue }
                let path = root.tmp.appendingPathComponent(name)
                MountTable.detachAll(under: path.path)
                try? FileManager.default.removeItem(at: path)
            }
            return reclaimed
        }
    }
}

/// A process's identity over time: its pid plus its start time.
public enum ProcessIdentity {
    /// Field 22 of `/proc/PID/stat` (start time in clock ticks since boot), or nil when no such
    /// process runs. A zombie counts as gone: it has exited, only its parent has not reaped it.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let text = ProcFile.read("/proc/\(pid)/stat"),
              let close = text.lastIndex(of: ")") else { return nil }
        // The command name (field 2) may hold spaces and parentheses; fields after it are plain.
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 22 is fields[19].
        guard fields.count > 19, !["Z", "X", "x"].contains(fields[0]) else { return nil }
        return UInt64(fields[19])
    }

    /// The kinds of scratch a command makes under `tmp/` outside a build's own directory, each
    /// named `<kind>-<pid>-<starttime>-…` so the next build removes it once its maker is gone:
    /// a context read from standard input, secrets given as environment variables.
    public static let scratchPrefixes = ["context-", "secrets-"]

    /// This process's `pid-starttime`, the suffix of the temp files it creates.
    public static let current: String = {
        let pid = getpid()
        return "\(pid)-\(startTime(of: pid) ?? 0)"
    }()
}

/// The mount table, for detaching what a build left mounted.
public enum MountTable {
    /// Detaches every mount at or below `path`, deepest first (`/proc/self/mountinfo`).
    public static func detachAll(under path: String) {
        guard let text = ProcFile.read("/proc/self/mountinfo") else { return }
        let points = text.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let point = unescape(String(fields[4]))
            return point == path || point.hasPrefix(path + "/") ? point : nil
        }
        for point in points.sorted(by: { $0.count > $1.count }) { umount2(point, Int32(MNT_DETACH)) }
    }

    /// mountinfo writes space, tab, newline and backslash as `\NNN` octal escapes.
    private static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3, let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Reading `/proc` files, which report a size of 0: they are read until end of file, not for
/// the size `stat` gives (Foundation's `String(contentsOfFile:)` then stops after its first
/// read and a long mount table comes back cut short).
public enum ProcFile {
    /// The whole file, or nil when it cannot be opened.
    public static func read(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }
}
