import Foundation
import Testing

/// One differential case: a Dockerfile and context "A", one mutation of one input giving "B",
/// and the cache status B's steps must have when B is built where A was built.
///
/// `expect` has one letter per step of `kiln.steps` (FROM lines are not steps): `E` executed,
/// `C` cached, `M` metadata, `?` cached or executed (only where the semantics say "may").
struct SoundnessCase: Sendable, CustomTestStringConvertible {
    var name: String
    var dockerfile: String
    /// Context files of A (path → text).
    var files: [String: String] = [:]
    /// `kiln build` flags of A (placeholders allowed, see ``SoundnessWorkspace``).
    var flags: [String] = []
    /// Starts the loopback HTTP file server before `prepare`.
    var http = false
    /// Anything else A needs (links, modes, archives, served files, secrets).
    var prepare: @Sendable (SoundnessWorkspace) throws -> Void = { _ in }
    /// The single-input change from A to B.
    var mutate: @Sendable (SoundnessWorkspace) throws -> Void
    var expect: String
    /// A converse case: nothing that reaches the image changed, so B's image digest is A's.
    var sameImageAsA = false
    /// Files of B's image that must hold this text (nil: must not exist).
    var imageFiles: [String: String?] = [:]
    /// Every layer B's steps made (not the base image's) has a media type containing this (e.g. `zstd`).
    var layerMediaType: String?

    var testDescription: String { name }

    /// The letters of `expect` as `kiln.steps[].status` values.
    var expectedStatuses: [String] {
        expect.map { letter in
            switch letter {
            case "E": return "executed"
            case "C": return "cached"
            case "M": return "metadata"
            default: return "cached|executed"
            }
        }
    }
}

private let secretFlag = ["--secret", "id=s,src=@WS@/secret.txt"]

/// The cache-mount options, one case per option: each is part of the step's key.
private func cacheMountCase(_ option: String, _ old: String, _ new: String) -> SoundnessCase {
    let options = ["id=c1", "target=/c", "sharing=shared", "mode=0755", "uid=0", "gid=0"].joined(separator: ",")
    return SoundnessCase(
        name: "cache mount: \(option) changed", dockerfile: "FROM busybox\nRUN --mount=type=cache,\(options) echo x > /x\n",
        mutate: { try $0.edit(old, new) }, expect: "E")
}

/// Cases for metadata instructions after the last filesystem step: changing them re-runs nothing.
private func metadataCase(_ instruction: String, _ old: String, _ new: String) -> SoundnessCase {
    SoundnessCase(name: "\(instruction) changed → hit", dockerfile: "FROM busybox\nRUN echo one > /one\n\(old)\n",
                  mutate: { try $0.edit(old, new) }, expect: "CM")
}

extension SoundnessCase {
    /// The table. Every command is deterministic, so with SOURCE_DATE_EPOCH fixed a step gives
    /// the same bytes wherever it runs and B must equal B' (a fresh root's build of B).
    static let all: [SoundnessCase] = instructions + copyAndAdd + mounts + buildWide + contextFiles

    static let instructions: [SoundnessCase] = [
        SoundnessCase(name: "RUN: command text changed", dockerfile: "FROM busybox\nRUN echo one > /one\nRUN echo two > /two\n",
                      mutate: { try $0.edit("echo two", "echo 2") }, expect: "CE"),
        SoundnessCase(name: "RUN: exec-form argument changed",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nRUN [\"/bin/sh\", \"-c\", \"echo a > /a\"]\n",
                      mutate: { try $0.edit("echo a", "echo b") }, expect: "CE"),
        SoundnessCase(name: "SHELL: changes the argv of the RUN after it",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nSHELL [\"/bin/sh\", \"-c\"]\nRUN echo two > /two\n",
                      mutate: { try $0.edit("SHELL [\"/bin/sh\", \"-c\"]", "SHELL [\"/bin/sh\", \"-e\", \"-c\"]") }, expect: "CME"),
        SoundnessCase(name: "RUN heredoc: body changed",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nRUN <<EOF\necho body1 > /h\nEOF\n",
                      mutate: { try $0.edit("body1", "body2") }, expect: "CE", imageFiles: ["h": "body2\n"]),
        SoundnessCase(name: "RUN --network flag changed (per step)",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nRUN --network=none echo x > /x\n",
                      mutate: { try $0.edit("--network=none", "--network=default") }, expect: "CE"),
        SoundnessCase(name: "ENV before a RUN changed", dockerfile: "FROM busybox\nRUN echo one > /one\nENV V=1\nRUN echo \"$V\" > /v\n",
                      mutate: { try $0.edit("V=1", "V=2") }, expect: "CME", imageFiles: ["v": "2\n"]),
        SoundnessCase(name: "ENV after the last filesystem step changed → hit",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nENV V=1\n",
                      mutate: { try $0.edit("V=1", "V=2") }, expect: "CM"),
        SoundnessCase(name: "ENV expanded in a COPY destination changed", dockerfile: "FROM busybox\nENV D=/x\nCOPY f.txt ${D}/f\n",
                      files: ["f.txt": "f\n"], mutate: { try $0.edit("D=/x", "D=/y") }, expect: "ME"),
        SoundnessCase(name: "ARG declared in the stage: value given",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nARG V=1\nRUN echo \"$V\" > /v\n",
                      mutate: { $0.flags += ["--build-arg", "V=2"] }, expect: "CME", imageFiles: ["v": "2\n"]),
        SoundnessCase(name: "ARG declared: given value equal to the default → hit",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nARG V=1\nRUN echo \"$V\" > /v\n",
                      mutate: { $0.flags += ["--build-arg", "V=1"] }, expect: "CMC", sameImageAsA: true),
        SoundnessCase(name: "ARG declared: a COPY not expanding it hits, the RUN after it misses",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nARG V=1\nCOPY f.txt /f\nRUN cat /f > /g\n",
                      files: ["f.txt": "f\n"], mutate: { $0.flags += ["--build-arg", "V=2"] }, expect: "CMCE"),
        SoundnessCase(name: "undeclared --build-arg → hit", dockerfile: "FROM busybox\nRUN echo one > /one\n",
                      mutate: { $0.flags += ["--build-arg", "UNUSED=x"] }, expect: "C", sameImageAsA: true),
        SoundnessCase(name: "global ARG the stage does not redeclare changed → hit",
                      dockerfile: "ARG G=1\nFROM busybox\nRUN echo \"g=$G\" > /g\n",
                      mutate: { $0.flags += ["--build-arg", "G=2"] }, expect: "C", sameImageAsA: true),
        SoundnessCase(name: "global ARG used in FROM changed (other base)", dockerfile: "ARG BASE=busybox\nFROM ${BASE}\nRUN echo x > /x\n",
                      flags: ["--build-context", "alt=oci-layout://@ALT@:latest"],
                      mutate: { $0.flags += ["--build-arg", "BASE=alt"] }, expect: "E", imageFiles: ["etc/alt": "alt\n"]),
        SoundnessCase(name: "proxy build arg given → hit", dockerfile: "FROM busybox\nRUN echo one > /one\n",
                      mutate: { $0.flags += ["--build-arg", "HTTP_PROXY=http://127.0.0.1:9"] }, expect: "C", sameImageAsA: true),
        SoundnessCase(name: "USER before a RUN changed",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nUSER root\nRUN id -u > /tmp/u\n",
                      mutate: { try $0.edit("USER root", "USER nobody") }, expect: "CME", imageFiles: ["tmp/u": "65534\n"]),
        SoundnessCase(name: "USER after the last filesystem step changed → hit",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nUSER nobody\n",
                      mutate: { try $0.edit("USER nobody", "USER 65534:65534") }, expect: "CM"),
        SoundnessCase(name: "WORKDIR before a RUN changed",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nWORKDIR /a\nRUN pwd > /tmp/pwd\n",
                      mutate: { try $0.edit("WORKDIR /a", "WORKDIR /b") }, expect: "CEE", imageFiles: ["tmp/pwd": "/b\n"]),
        SoundnessCase(name: "WORKDIR before a relative COPY changed", dockerfile: "FROM busybox\nWORKDIR /a\nCOPY f.txt rel\n",
                      files: ["f.txt": "f\n"], mutate: { try $0.edit("WORKDIR /a", "WORKDIR /b") }, expect: "EE"),
        SoundnessCase(name: "LABEL between filesystem steps changed → hit",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nLABEL a=1\nRUN echo two > /two\n",
                      mutate: { try $0.edit("a=1", "a=2") }, expect: "CMC"),
        metadataCase("CMD", "CMD [\"one\"]", "CMD [\"two\"]"),
        metadataCase("ENTRYPOINT", "ENTRYPOINT [\"/bin/sh\"]", "ENTRYPOINT [\"/bin/ash\"]"),
        metadataCase("EXPOSE", "EXPOSE 80", "EXPOSE 8080/udp"),
        metadataCase("VOLUME", "VOLUME /data", "VOLUME /data2"),
        metadataCase("STOPSIGNAL", "STOPSIGNAL SIGTERM", "STOPSIGNAL SIGINT"),
        metadataCase("HEALTHCHECK", "HEALTHCHECK CMD true", "HEALTHCHECK --interval=5s CMD true"),
        metadataCase("ONBUILD", "ONBUILD RUN echo a", "ONBUILD RUN echo b"),
    ]

    static let copyAndAdd: [SoundnessCase] = [
        SoundnessCase(name: "COPY: source content changed", dockerfile: "FROM busybox\nRUN echo one > /one\nCOPY f.txt /f\nRUN cat /f > /g\n",
                      files: ["f.txt": "v1\n"], mutate: { try $0.write("f.txt", "v2\n") }, expect: "CEE", imageFiles: ["g": "v2\n"]),
        SoundnessCase(name: "COPY: a context file it does not copy changed → hit",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nCOPY f.txt /f\nRUN cat /f > /g\n",
                      files: ["f.txt": "v1\n", "other.txt": "o1\n"], mutate: { try $0.write("other.txt", "o2\n") },
                      expect: "CCC", sameImageAsA: true),
        SoundnessCase(name: "COPY heredoc: body changed", dockerfile: "FROM busybox\nRUN echo one > /one\nCOPY <<EOF /h.txt\nv1\nEOF\n",
                      mutate: { try $0.edit("v1", "v2") }, expect: "CE", imageFiles: ["h.txt": "v2\n"]),
        SoundnessCase(name: "COPY --chown changed", dockerfile: "FROM busybox\nCOPY --chown=0:0 f.txt /f\n", files: ["f.txt": "f\n"],
                      mutate: { try $0.edit("--chown=0:0", "--chown=65534:65534") }, expect: "E"),
        SoundnessCase(name: "COPY --chmod changed", dockerfile: "FROM busybox\nCOPY --chmod=644 f.txt /f\n", files: ["f.txt": "f\n"],
                      mutate: { try $0.edit("--chmod=644", "--chmod=755") }, expect: "E"),
        SoundnessCase(name: "COPY --link added", dockerfile: "FROM busybox\nCOPY f.txt /f\n", files: ["f.txt": "f\n"],
                      mutate: { try $0.edit("COPY f.txt", "COPY --link f.txt") }, expect: "E"),
        SoundnessCase(name: "COPY --parents added", dockerfile: "FROM busybox\nCOPY a/b/f.txt /out/\n", files: ["a/b/f.txt": "f\n"],
                      mutate: { try $0.edit("COPY a/b", "COPY --parents a/b") }, expect: "E", imageFiles: ["out/a/b/f.txt": "f\n"]),
        SoundnessCase(name: "COPY --exclude pattern changed", dockerfile: "FROM busybox\nCOPY --exclude=*.log dir/ /d/\n",
                      files: ["dir/a.txt": "a\n", "dir/x.log": "log\n", "dir/y.tmp": "tmp\n"],
                      mutate: { try $0.edit("--exclude=*.log", "--exclude=*.tmp") }, expect: "E", imageFiles: ["d/x.log": "log\n"]),
        SoundnessCase(name: "COPY --exclude: an excluded file changed → hit", dockerfile: "FROM busybox\nCOPY --exclude=*.log dir/ /d/\n",
                      files: ["dir/a.txt": "a\n", "dir/x.log": "log\n"], mutate: { try $0.write("dir/x.log", "log changed\n") },
                      expect: "C", sameImageAsA: true),
        SoundnessCase(name: "COPY --from=stage: the stage's output changed",
                      dockerfile: "FROM busybox AS s\nRUN echo one > /o\nFROM busybox\nCOPY --from=s /o /o\n",
                      mutate: { try $0.edit("echo one", "echo two") }, expect: "EE", imageFiles: ["o": "two\n"]),
        SoundnessCase(name: "FROM stage: the stage's output changed",
                      dockerfile: "FROM busybox AS s\nRUN echo one > /o\nFROM s\nRUN cat /o > /p\n",
                      mutate: { try $0.edit("echo one", "echo two") }, expect: "EE", imageFiles: ["p": "two\n"]),
        SoundnessCase(name: "COPY --from=<named context image>: the image changed",
                      dockerfile: "FROM busybox\nCOPY --from=img /etc/passwd /p\n", flags: ["--build-context", "img=oci-layout://@BUSYBOX@:latest"],
                      mutate: { try $0.replaceFlag("img=oci-layout://@BUSYBOX@:latest", "img=oci-layout://@ALT@:latest") }, expect: "E"),
        SoundnessCase(name: "ADD: local file content changed", dockerfile: "FROM busybox\nADD f.txt /f\n", files: ["f.txt": "v1\n"],
                      mutate: { try $0.write("f.txt", "v2\n") }, expect: "E", imageFiles: ["f": "v2\n"]),
        SoundnessCase(name: "ADD --chmod changed", dockerfile: "FROM busybox\nADD --chmod=644 f.txt /f\n", files: ["f.txt": "f\n"],
                      mutate: { try $0.edit("--chmod=644", "--chmod=755") }, expect: "E"),
        SoundnessCase(name: "ADD local tar archive: a member changed (extraction)", dockerfile: "FROM busybox\nADD a.tar /x/\n",
                      prepare: { try $0.writeOutside("tarsrc/m.txt", "v1\n"); try $0.tar("tarsrc", into: "a.tar") },
                      mutate: { try $0.writeOutside("tarsrc/m.txt", "v2 longer\n"); try $0.tar("tarsrc", into: "a.tar") },
                      expect: "E", imageFiles: ["x/m.txt": "v2 longer\n"]),
        SoundnessCase(name: "ADD http URL: the served content changed", dockerfile: "FROM busybox\nADD @HTTP@/f.txt /f\n", http: true,
                      prepare: { try $0.serve("f.txt", "served v1\n") }, mutate: { try $0.serve("f.txt", "served v2\n") },
                      expect: "E", imageFiles: ["f": "served v2\n"]),
        SoundnessCase(name: "ADD --checksum added to an http URL", dockerfile: "FROM busybox\nADD @HTTP@/f.txt /f\n", http: true,
                      prepare: { try $0.serve("f.txt", "served\n") },
                      mutate: { workspace in
                          let checksum = try workspace.servedChecksum("f.txt")
                          try workspace.edit("ADD @HTTP@", "ADD --checksum=\(checksum) @HTTP@")
                      }, expect: "E"),
    ]

    static let mounts: [SoundnessCase] = [
        SoundnessCase(name: "bind mount from the context: the file's content changed",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nRUN --mount=type=bind,source=b.txt,target=/b cat /b > /bb\n",
                      files: ["b.txt": "b1\n"], mutate: { try $0.write("b.txt", "b2\n") }, expect: "CE", imageFiles: ["bb": "b2\n"]),
        SoundnessCase(name: "bind mount source=dir: a file outside the source changed → hit",
                      dockerfile: "FROM busybox\nRUN --mount=type=bind,source=sub,target=/m cat /m/in.txt > /o\n",
                      files: ["sub/in.txt": "in\n", "out.txt": "o1\n"], mutate: { try $0.write("out.txt", "o2\n") },
                      expect: "C", sameImageAsA: true),
        SoundnessCase(name: "bind mount source=dir: a .dockerignored file changed → hit, and is not visible",
                      dockerfile: "FROM busybox\nRUN --mount=type=bind,source=sub,target=/m ls /m > /l\n",
                      files: ["sub/in.txt": "in\n", "sub/ignored.txt": "i1\n", ".dockerignore": "sub/ignored.txt\n"],
                      mutate: { try $0.write("sub/ignored.txt", "i2\n") }, expect: "C", sameImageAsA: true, imageFiles: ["l": "in.txt\n"]),
        SoundnessCase(name: "bind mount rw from the context: the file's content changed",
                      dockerfile: "FROM busybox\nRUN --mount=type=bind,source=.,target=/m,rw cat /m/f.txt > /g && echo x > /m/scratch\n",
                      files: ["f.txt": "v1\n"], mutate: { try $0.write("f.txt", "v2\n") }, expect: "E", imageFiles: ["g": "v2\n"]),
        SoundnessCase(name: "bind mount from a stage: the stage's output changed",
                      dockerfile: "FROM busybox AS s\nRUN echo one > /o\nFROM busybox\nRUN --mount=type=bind,from=s,source=/o,target=/m cat /m > /p\n",
                      mutate: { try $0.edit("echo one", "echo two") }, expect: "EE", imageFiles: ["p": "two\n"]),
        SoundnessCase(name: "bind mount from a named context image: the image changed",
                      dockerfile: "FROM busybox\nRUN --mount=type=bind,from=img,source=/etc/passwd,target=/m cat /m > /p\n",
                      flags: ["--build-context", "img=oci-layout://@BUSYBOX@:latest"],
                      mutate: { try $0.replaceFlag("img=oci-layout://@BUSYBOX@:latest", "img=oci-layout://@ALT@:latest") }, expect: "E"),
        cacheMountCase("id", "id=c1", "id=c2"),
        cacheMountCase("sharing", "sharing=shared", "sharing=locked"),
        cacheMountCase("mode", "mode=0755", "mode=0700"),
        cacheMountCase("uid", "uid=0", "uid=65534"),
        cacheMountCase("gid", "gid=0", "gid=65534"),
        cacheMountCase("ro", "gid=0", "gid=0,ro"),
        SoundnessCase(name: "cache mount: its contents changed (by another build) → hit",
                      dockerfile: "FROM busybox\nRUN --mount=type=cache,id=c,target=/c echo x > /x\n",
                      mutate: { workspace in
                          // Another build on the same root writes into the cache mount.
                          let saved = workspace.dockerfile
                          workspace.dockerfile = "FROM busybox\nRUN --mount=type=cache,id=c,target=/c echo other > /c/stamp && echo y > /y\n"
                          let side = try workspace.build("side", root: workspace.root("r1"))
                          workspace.dockerfile = saved
                          guard side.status == 0 else { throw SoundnessError("the build writing the cache mount failed: \(side.stderr)") }
                      }, expect: "C", sameImageAsA: true),
        SoundnessCase(name: "tmpfs mount: size changed", dockerfile: "FROM busybox\nRUN --mount=type=tmpfs,target=/t,size=1m echo x > /x\n",
                      mutate: { try $0.edit("size=1m", "size=2m") }, expect: "E"),
        SoundnessCase(name: "secret mount: id changed",
                      dockerfile: "FROM busybox\nRUN --mount=type=secret,id=s,required=false echo ok > /ok\n",
                      flags: secretFlag + ["--secret", "id=t,src=@WS@/secret.txt"],
                      prepare: { try $0.writeOutside("secret.txt", "hunter2\n") },
                      mutate: { try $0.edit("id=s", "id=t") }, expect: "E"),
        SoundnessCase(name: "secret mount: the secret's bytes changed → hit",
                      dockerfile: "FROM busybox\nRUN --mount=type=secret,id=s test -s /run/secrets/s && echo ok > /ok\n", flags: secretFlag,
                      prepare: { try $0.writeOutside("secret.txt", "hunter2\n") },
                      mutate: { try $0.writeOutside("secret.txt", "correct horse\n") }, expect: "C", sameImageAsA: true),
        SoundnessCase(name: "secret mount: the secret no longer given",
                      dockerfile: "FROM busybox\nRUN --mount=type=secret,id=s,required=false echo ok > /ok\n", flags: secretFlag,
                      prepare: { try $0.writeOutside("secret.txt", "hunter2\n") },
                      mutate: { workspace in workspace.flags.removeAll { flag in flag == "--secret" || flag.hasPrefix("id=s,") } },
                      expect: "E"),
        SoundnessCase(name: "secret mount: required changed",
                      dockerfile: "FROM busybox\nRUN --mount=type=secret,id=s,required=false echo ok > /ok\n", flags: secretFlag,
                      prepare: { try $0.writeOutside("secret.txt", "hunter2\n") },
                      mutate: { try $0.edit("required=false", "required=true") }, expect: "E"),
        SoundnessCase(name: "secret mount: env changed",
                      dockerfile: "FROM busybox\nRUN --mount=type=secret,id=s,env=TOKEN echo ok > /ok\n", flags: secretFlag,
                      prepare: { try $0.writeOutside("secret.txt", "hunter2\n") },
                      mutate: { try $0.edit("env=TOKEN", "env=OTHER") }, expect: "E"),
    ]

    static let buildWide: [SoundnessCase] = [
        SoundnessCase(name: "--network none for the build", dockerfile: "FROM busybox\nRUN echo one > /one\nRUN echo x > /x\n",
                      mutate: { $0.flags += ["--network", "none"] }, expect: "EE"),
        SoundnessCase(name: "--network default given explicitly → hit", dockerfile: "FROM busybox\nRUN echo one > /one\n",
                      mutate: { $0.flags += ["--network", "default"] }, expect: "C", sameImageAsA: true),
        SoundnessCase(name: "--platform linux/amd64 → linux/arm64 (FROM scratch, COPY only)", dockerfile: "FROM scratch\nCOPY f.txt /f\n",
                      files: ["f.txt": "f\n"], flags: ["--platform", "linux/amd64"],
                      mutate: { try $0.replaceFlag("linux/amd64", "linux/arm64") }, expect: "E"),
        SoundnessCase(name: "--platform linux/arm/v6 → linux/arm/v7 (the variant alone)", dockerfile: "FROM scratch\nCOPY f.txt /f\n",
                      files: ["f.txt": "f\n"], flags: ["--platform", "linux/arm/v6"],
                      mutate: { try $0.replaceFlag("linux/arm/v6", "linux/arm/v7") }, expect: "E"),
        // A stage on the build platform is the same work for every target: shared, not re-run.
        SoundnessCase(name: "--platform changed: a $BUILDPLATFORM stage → hit, the target stage re-runs",
                      dockerfile: "FROM --platform=$BUILDPLATFORM busybox AS tools\nRUN echo tool > /t\nFROM scratch\nCOPY --from=tools /t /t\n",
                      flags: ["--platform", "linux/amd64"],
                      mutate: { try $0.replaceFlag("linux/amd64", "linux/arm64") }, expect: "CE", imageFiles: ["t": "tool\n"]),
        SoundnessCase(name: "--platform changed: a $BUILDPLATFORM stage that reads TARGETARCH re-runs",
                      dockerfile: "FROM --platform=$BUILDPLATFORM busybox AS tools\nARG TARGETARCH\nRUN echo $TARGETARCH > /t\n"
                        + "FROM scratch\nCOPY --from=tools /t /t\n",
                      flags: ["--platform", "linux/amd64"],
                      mutate: { try $0.replaceFlag("linux/amd64", "linux/arm64") }, expect: "MEE", imageFiles: ["t": "arm64\n"]),
        SoundnessCase(name: "--compression zstd after gzip → hit, zstd layers",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nCOPY f.txt /f\n", files: ["f.txt": "f\n"],
                      mutate: { $0.flags += ["--compression", "zstd"] }, expect: "CC", layerMediaType: "zstd"),
        SoundnessCase(name: "SOURCE_DATE_EPOCH changed → hit", dockerfile: "FROM busybox\nRUN echo one > /one\nCOPY f.txt /f\n",
                      files: ["f.txt": "f\n"], mutate: { $0.environment["SOURCE_DATE_EPOCH"] = "1700000999" }, expect: "CC"),
        SoundnessCase(name: "SOURCE_DATE_EPOCH added after a build without it → hit",
                      dockerfile: "FROM busybox\nRUN echo one > /one\nCOPY f.txt /f\n", files: ["f.txt": "f\n"],
                      prepare: { $0.environment["SOURCE_DATE_EPOCH"] = nil },
                      mutate: { $0.environment["SOURCE_DATE_EPOCH"] = SoundnessWorkspace.epoch }, expect: "CC"),
        SoundnessCase(name: "--target: the earlier stage", dockerfile: "FROM busybox AS one\nRUN echo 1 > /1\nFROM one AS two\nRUN echo 2 > /2\n",
                      flags: ["--target", "two"], mutate: { try $0.replaceFlag("two", "one") }, expect: "C"),
        SoundnessCase(name: "--label added → hit", dockerfile: "FROM busybox\nRUN echo one > /one\n",
                      mutate: { $0.flags += ["--label", "extra=1"] }, expect: "C"),
        // The re-run stage gives the same bytes, so what reads it "may be cached".
        SoundnessCase(name: "--no-cache-filter on a deterministic stage",
                      dockerfile: "FROM busybox AS s\nRUN echo one > /o\nFROM busybox\nCOPY --from=s /o /o\nRUN cat /o > /p\n",
                      mutate: { $0.flags += ["--no-cache-filter", "s"] }, expect: "E??", sameImageAsA: true),
        SoundnessCase(name: "umask 077 while building → hit", dockerfile: "FROM busybox\nRUN echo one > /one\nCOPY f.txt /deep/er/f\n",
                      files: ["f.txt": "f\n"], mutate: { $0.umask = "077" }, expect: "CC", sameImageAsA: true),
        SoundnessCase(name: "base image digest changed under the same tag", dockerfile: "FROM base\nRUN echo x > /x\nCOPY f.txt /f\n",
                      files: ["f.txt": "f\n"], flags: ["--build-context", "base=oci-layout://@WS@/base:latest"],
                      prepare: { try $0.copyBaseLayout(to: "base") }, mutate: { try $0.replaceBaseLayout("base") },
                      expect: "EE", imageFiles: ["etc/alt": "alt\n"]),
    ]

    static let contextFiles: [SoundnessCase] = [
        SoundnessCase(name: ".dockerignore: un-ignoring a copied file", dockerfile: "FROM busybox\nCOPY dir/ /d/\n",
                      files: ["dir/a.txt": "a\n", "dir/b.txt": "b\n", ".dockerignore": "dir/b.txt\n"],
                      mutate: { try $0.write(".dockerignore", "# nothing ignored\n") }, expect: "E", imageFiles: ["d/b.txt": "b\n"]),
        SoundnessCase(name: ".dockerignore: an ignored file changed → hit", dockerfile: "FROM busybox\nCOPY dir/ /d/\n",
                      files: ["dir/a.txt": "a\n", "dir/b.txt": "b\n", ".dockerignore": "dir/b.txt\n"],
                      mutate: { try $0.write("dir/b.txt", "b changed\n") }, expect: "C", sameImageAsA: true, imageFiles: ["d/b.txt": nil]),
        SoundnessCase(name: "symlink: target changed", dockerfile: "FROM busybox\nCOPY dir/ /d/\n",
                      files: ["dir/a.txt": "a\n", "dir/b.txt": "b\n"], prepare: { try $0.symlink("dir/link", to: "a.txt") },
                      mutate: { try $0.symlink("dir/link", to: "b.txt") }, expect: "E", imageFiles: ["d/link": "b\n"]),
        SoundnessCase(name: "hardlink: two copies become two names of one inode", dockerfile: "FROM busybox\nCOPY dir/ /d/\n",
                      files: ["dir/a": "same\n", "dir/b": "same\n"], mutate: { try $0.hardlink("dir/b", to: "dir/a") }, expect: "E"),
        SoundnessCase(name: "mode: chmod +x of a copied file", dockerfile: "FROM busybox\nCOPY f.txt /f\n", files: ["f.txt": "f\n"],
                      mutate: { try $0.chmod("f.txt", 0o755) }, expect: "E"),
        SoundnessCase(name: "owner: chown of a copied file → hit", dockerfile: "FROM busybox\nCOPY dir/ /d/\n",
                      files: ["dir/f.txt": "f\n"], mutate: { try $0.chown("dir/f.txt", uid: 65534, gid: 65534); try $0.chown("dir", uid: 65534, gid: 65534) },
                      expect: "C", sameImageAsA: true),
        SoundnessCase(name: "empty directory added to a copied directory", dockerfile: "FROM busybox\nCOPY dir/ /d/\n",
                      files: ["dir/a.txt": "a\n"], mutate: { try $0.mkdir("dir/empty") }, expect: "E"),
        SoundnessCase(name: "mtime: touch of copied files and their directory → hit", dockerfile: "FROM busybox\nCOPY dir/ /d/\n",
                      files: ["dir/a.txt": "a\n"],
                      mutate: { workspace in
                          let later = Date().addingTimeInterval(3600)
                          try workspace.touch("dir/a.txt", later)
                          try workspace.touch("dir", later)
                      }, expect: "C", sameImageAsA: true),
    ]
}
