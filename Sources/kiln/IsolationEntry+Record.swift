import CRecordedEntry
import Foundation
import Glibc
import KilnExecutor

/// The record that spares a non-root `kiln` its second start. A process that entered its user
/// namespace by re-executing (``IsolationEntry/enterIfNeeded()``) writes down what it entered
/// with: the maps it reads from `/proc/self/uid_map` and `gid_map`, the mode and summary, and
/// every input of the decision (boot, binary, user, `/etc/subuid` and `/etc/subgid`). The next
/// start of the same binary by the same user in the same boot, without `--isolation` or
/// `KILN_ISOLATION`, replays it in C before `main` (`CRecordedEntry`): the same `newuidmap` and
/// `newgidmap` calls, from a process that has not yet started Swift's threads. So the decision
/// stays in ``Isolation/decide(_:facts:)``; the record only repeats its outcome while its
/// inputs hold.
extension IsolationEntry {
    /// Added to the summary line when the entry was replayed from the record.
    static let replayedNote = "entered before start as recorded earlier in this boot"

    /// Whether this process entered its namespace by replaying the record.
    static var replayedRecord: Bool { kiln_entry_replayed() != 0 }

    /// Sets the variables a re-executed process gets when the entry was replayed before `main`
    /// (the replay leaves the environment alone; see `CRecordedEntry`).
    static func adoptReplayedEntry() {
        guard let summary = kiln_entry_replayed_summary(), let mode = kiln_entry_replayed_mode() else { return }
        setenv(enteredVariable, summary, 1)
        setenv(enteredModeVariable, mode, 1)
    }

    /// Writes the record when this process is a rootless re-execution whose maps came from
    /// `newuidmap`/`newgidmap` (a range of subordinate ids); otherwise does nothing. Failing to
    /// write it only costs the next start its speed.
    static func recordEntry() {
        let environment = ProcessInfo.processInfo.environment
        guard !replayedRecord, environment[enteredModeVariable] == Isolation.rootless.rawValue,
              let summary = environment[enteredVariable], !summary.contains("\n"),
              let uidMap = mapArguments("/proc/self/uid_map"), let gidMap = mapArguments("/proc/self/gid_map"),
              uidMap.count >= 6, gidMap.count >= 6, uidMap[0] == "0", gidMap[0] == "0",
              let outerUID = UInt32(uidMap[1]), let outerGID = UInt32(gidMap[1]),
              let newuidmap = ExecutableSearch.standard.find("newuidmap"), let newgidmap = ExecutableSearch.standard.find("newgidmap"),
              let boot = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8),
              let exe = identity("/proc/self/exe"), let subuid = identity("/etc/subuid"), let subgid = identity("/etc/subgid")
        else { return }
        let text = [
            "version 1", "ids \(outerUID) \(outerGID)", "boot \(boot.trimmingCharacters(in: .whitespacesAndNewlines))",
            "exe \(exe)", "subuid \(subuid)", "subgid \(subgid)", "commands \(commands.sorted().joined(separator: " "))",
            "mode \(Isolation.rootless.rawValue)", "summary \(summary)", "newuidmap \(newuidmap)", "newgidmap \(newgidmap)",
            "uidmap \(uidMap.joined(separator: " "))", "gidmap \(gidMap.joined(separator: " "))",
        ].joined(separator: "\n") + "\n"
        var buffer = [CChar](repeating: 0, count: 4096)
        guard kiln_entry_record_path(outerUID, &buffer, buffer.count) == 0 else { return }
        let path = String(cString: buffer)
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let written = text.utf8CString.dropLast().withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        if written != text.utf8.count || rename(temporary, path) != 0 { unlink(temporary) }
    }

    /// The lines of a `/proc/self/*_map` file as `newuidmap` arguments (inside, outside, count, …).
    private static func mapArguments(_ path: String) -> [String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let fields = text.split(whereSeparator: \.isWhitespace).map(String.init)
        return fields.isEmpty || fields.count % 3 != 0 ? nil : fields
    }

    /// `<dev> <ino> <size> <mtime s> <mtime ns>` of `path`, the form `CRecordedEntry` compares.
    private static func identity(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return "\(UInt64(info.st_dev)) \(UInt64(info.st_ino)) \(Int64(info.st_size)) \(Int64(info.st_mtim.tv_sec)) \(Int(info.st_mtim.tv_nsec))"
    }
}
