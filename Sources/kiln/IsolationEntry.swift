import Foundation
import Glibc
import KilnArchive
import KilnExecutor

/// Puts the process where its isolation mode (``Isolation``) needs it, before anything
/// touches Kiln's root: a non-root user's `kiln` re-executes itself as root of a user
/// namespace of its own (through util-linux's `unshare`, which applies the user's
/// `/etc/subuid` and `/etc/subgid` ranges with `newuidmap`/`newgidmap`), so that unpacking,
/// snapshots, layers and runc all see the image's own owners, and so does `kiln cache prune`
/// when it removes what builds made.
enum IsolationEntry {
    /// Set in the re-executed process: the summary line of the mode it was entered for.
    static let enteredVariable = "KILN_ISOLATION_ENTERED"
    /// Set in the re-executed process: the mode it was entered for (`rootless`, `userns-pod`).
    static let enteredModeVariable = "KILN_ISOLATION_ENTERED_MODE"
    /// The commands that write under Kiln's root.
    static let commands: Set<String> = ["build", "pull", "push", "copy", "import", "cache"]

    /// `--isolation MODE` (or `=MODE`) among `arguments`, else `$KILN_ISOLATION`.
    static func requested(in arguments: [String]) throws -> Isolation? {
        var text = ProcessInfo.processInfo.environment["KILN_ISOLATION"]
        for (index, argument) in arguments.enumerated() {
            if argument == "--isolation", index + 1 < arguments.count { text = arguments[index + 1] }
            if argument.hasPrefix("--isolation=") { text = String(argument.dropFirst("--isolation=".count)) }
        }
        guard let text, !text.isEmpty, text != "auto" else { return nil }
        guard let mode = Isolation(rawValue: text) else {
            throw CommandFailure("--isolation \(text): expected auto, " + Isolation.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return mode
    }

    /// The mode this process runs in and its summary line (probing namespaces once).
    static func current() throws -> (mode: Isolation, summary: String) {
        if let summary = ProcessInfo.processInfo.environment[enteredVariable] {
            let mode = ProcessInfo.processInfo.environment[enteredModeVariable].flatMap(Isolation.init(rawValue:)) ?? .rootless
            return (mode, replayedRecord ? summary + "; " + replayedNote : summary)
        }
        let facts = Isolation.Facts.current()
        let mode = try Isolation.decide(try requested(in: CommandLine.arguments), facts: facts)
        return (mode, mode.summary(facts: facts))
    }

    /// Re-executes `kiln` in its own user namespace when the command writes under Kiln's root
    /// and the mode is rootless, or userns-pod where root of the pod may not make the other
    /// namespaces itself (no `CAP_SYS_ADMIN` there); returns only when nothing is to be done.
    static func enterIfNeeded() throws {
        adoptReplayedEntry()
        let arguments = CommandLine.arguments
        guard arguments.count > 1, commands.contains(arguments[1]),
              ProcessInfo.processInfo.environment[enteredVariable] == nil,
              !arguments.contains("--help"), !arguments.contains("-h")
        else {
            recordEntry()
            return
        }
        let facts = Isolation.Facts.current()
        let mode: Isolation
        do {
            mode = try Isolation.decide(try requested(in: arguments), facts: facts)
        } catch let refusal as Isolation.Refusal {
            // Root has nothing to enter: a build says the refusal itself (``current()``), and
            // pulls, pushes and cache commands need no isolation.
            if facts.euid == 0 { return }
            throw CommandFailure(refusal.description)
        }
        switch mode {
        case .root:
            return
        case .usernsPod:
            guard !facts.canCreateNamespaces else { return }
        case .chroot:
            // Root without namespaces still builds what has no RUN (the build refuses RUN
            // before it pulls anything); another user could not even write the image's owners.
            guard facts.euid == 0 else {
                throw CommandFailure("no user namespace can be made here (see /proc/sys/user/max_user_namespaces, seccomp and AppArmor), "
                    + "and without one uid \(facts.euid) cannot write files of other owners: run Kiln as root, or allow user namespaces")
            }
            return
        case .rootless:
            break
        }
        let unshare = "/usr/bin/unshare"
        guard FileManager.default.isExecutableFile(atPath: unshare) else {
            throw CommandFailure("rootless isolation needs unshare from util-linux: apt-get install util-linux")
        }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
        var flags = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]
        if mode == .usernsPod {
            // The pod's own ids, one to one: files keep the owners the pod sees (newuidmap checks
            // /etc/subuid and /etc/subgid, which Kiln's image fills for root).
            let uids = UserNamespace.mappedIDs() - 1, gids = UserNamespace.mappedIDs(groups: true) - 1
            if uids > 0, gids > 0 { flags.insert(contentsOf: ["--map-users=1,1,\(uids)", "--map-groups=1,1,\(gids)"], at: 2) }
        } else if facts.subordinateIDs != nil {
            flags.insert("--map-auto", at: 2)
        }
        setenv(enteredVariable, mode.summary(facts: facts), 1)
        setenv(enteredModeVariable, mode.rawValue, 1)
        let argv = (flags + ["--", executable] + arguments.dropFirst()).map { strdup($0) } + [nil]
        execv(unshare, argv)
        throw CommandFailure("could not start \(unshare): \(String(cString: strerror(errno)))")
    }
}
