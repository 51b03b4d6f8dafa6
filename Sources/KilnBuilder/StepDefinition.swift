import Foundation
import KilnCache
import KilnDockerfile
import KilnExecutor
import KilnFileOps
import KilnOCI

/// Everything one filesystem step does, as the values that do it: the executor runs a RUN
/// from ``RunDefinition``, the file operations copy from ``CopyDefinition``'s request, and
/// the cache key is derived from this same value (``CacheKeyed``). Nothing a step reads can
/// reach it except through here, so nothing can be left out of its key by forgetting it.
///
/// What is read but not stored (and so never in a key) is listed with its reason in
/// ``unreadInputs``; what is stored but left out of the key, in ``keyExclusions``.
struct StepDefinition: CacheKeyed, Hashable {
    /// What the step starts from: the previous filesystem step's key, the base image's manifest
    /// digest (never its tag), a parent stage's final key, or nil for `scratch`. The content
    /// actually there is checked against each entry's basis (``CacheEntry/basis``).
    var parent: Digest?
    /// `os/arch[/variant]` of the stage.
    var platform: String
    /// The build args in scope that the step depends on (declared ones only).
    var buildArgs: [String: String]
    /// A RUN.
    var run: RunDefinition?
    /// A COPY or ADD.
    var copy: CopyDefinition?
    /// A WORKDIR.
    var workdir: WorkdirDefinition?

    static let keyExclusions: [KeyExclusion] = [
        KeyExclusion("run.instruction", because: "display text for listings; the members beside it say what runs"),
        KeyExclusion("copy.instruction", because: "display text for listings; the request says what is copied"),
        KeyExclusion("workdir.instruction", because: "display text for listings; the path says what is made"),
        KeyExclusion("run.proxyEnvironment", because: "proxy build args (HTTP_PROXY, …) choose a route to the same content and may carry credentials; BuildKit leaves them out too"),
    ]

    /// Inputs a step reads that are deliberately never part of its definition.
    static let unreadInputs: [KeyExclusion] = [
        KeyExclusion("context file mtimes, atimes and owners", because: "a fresh checkout must hit on every machine; COPY writes 0:0 unless --chown, and modes are in the content digest"),
        KeyExclusion("the host's umask", because: "every mode Kiln writes is set explicitly"),
        KeyExclusion("undeclared --build-arg values", because: "no step can see them"),
        KeyExclusion("a secret's bytes", because: "secrets never reach a layer or the cache; a step is keyed on the secret's id and on whether it was given"),
        KeyExclusion("cache mount contents", because: "a cache mount is a cache: the step must give the same result with it empty or full"),
        KeyExclusion("--compression and the SOURCE_DATE_EPOCH clamp", because: "output transforms applied when the image is assembled, to whatever layer the cache holds"),
        KeyExclusion("metadata instructions (LABEL, CMD, ENTRYPOINT, EXPOSE, …) and --label", because: "they change the image config, which is replayed, not the filesystem"),
        KeyExclusion("the host's resolver configuration given to RUN as /etc/resolv.conf, and the host's kernel", because: "the machine a step runs on, not what it is asked to do; generated files are not part of any layer (BuildKit keys neither)"),
        KeyExclusion("which OCI runtime (runc or crun) runs the step", because: "both run the same OCI bundle"),
        KeyExclusion("the entitlements granted to the build (--allow)", because: "a step runs the same whatever else is allowed: its own network and security mode are keyed, and a step needing an entitlement the build lacks never runs"),
    ]
}

/// A RUN as the executor runs it.
struct RunDefinition: Encodable, Hashable, Sendable {
    /// The step's text, for listings.
    var instruction: String
    /// The argument vector after SHELL (a heredoc script runs as `/dev/.kiln-script/script`).
    var arguments: [String]
    /// A heredoc body run as a script file, when there is one.
    var script: String?
    /// `NAME=value` from ENV and declared build args, sorted.
    var environment: [String]
    /// Proxy build args, `NAME=value`, sorted; given to the command, never keyed.
    var proxyEnvironment: [String]
    /// USER.
    var user: String
    /// WORKDIR.
    var workingDirectory: String
    /// The container's hostname.
    var hostname: String
    /// The network the step gets, after the build-wide default is applied.
    var network: NetworkMode
    /// The step's security mode.
    var security: SecurityMode
    /// Devices asked for with `RUN --device`.
    var devices: [String]
    /// Every `--mount`, with what its source holds.
    var mounts: [MountDefinition]
}

/// One `RUN --mount`, with its source named by content.
struct MountDefinition: Encodable, Hashable, Sendable {
    /// The options as written, expanded.
    var options: Mount
    /// The absolute target in the container.
    var target: String
    /// What the source holds: the content digest of the context files visible under
    /// `source` after `.dockerignore`, an image's manifest digest, or a stage's final key
    /// (its content checked through the entry's basis). Nil for mounts without a source.
    var contents: Digest?
    /// Secrets: whether the build was given the secret (its bytes never count).
    var secretGiven: Bool?
}

/// A COPY or ADD as the file operations perform it.
struct CopyDefinition: Encodable, Hashable, Sendable {
    /// The step's text, for listings.
    var instruction: String
    /// The expanded request the planner executes.
    var request: CopyRequest
    /// `context`, `stage` or `image`: where the sources are read.
    var sourceKind: String
    /// What the sources hold: the content digest of exactly the files copied (context), the
    /// image's manifest digest, or the stage's final key (checked through the basis).
    var contents: Digest
}

/// A WORKDIR that makes its directory.
struct WorkdirDefinition: Encodable, Hashable, Sendable {
    /// The step's text, for listings.
    var instruction: String
    /// The absolute path created.
    var path: String
}
