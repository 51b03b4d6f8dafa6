import Foundation
import KilnTestSupport
import Testing

extension IsolationSuites {
    /// Issue 13's Debian-base fixture, which no mode may skip: `apt-get install` (of packages
    /// downloaded beforehand, so no step needs a network), `useradd`, files of a non-root owner, a
    /// set-uid and a set-gid binary, a hard link and a `security.capability` xattr (`setcap`).
    /// Root's image is checked for each of them; every other mode must give its digest.
    @Suite(
        "Debian base in every isolation mode", .serialized,
        .enabled(if: BaseImages.canMakeDebian, "needs root and debootstrap"),
        .enabled(if: TestUser.isAvailable, "needs root (to add test users), unshare, newuidmap, setpriv and user namespaces"))
    struct IsolationDebianTests {
        static let dockerfile = #"""
            FROM debian
            RUN --mount=type=bind,source=debs,target=/debs \
                apt-get install -y --no-install-recommends /debs/*.deb && apt-get clean \
             && rm -rf /var/log/apt /var/log/dpkg.log /var/log/alternatives.log /var/cache/apt/*.bin /var/cache/ldconfig/aux-cache \
                       /var/lib/dpkg/*-old /var/cache/debconf/*-old
            RUN useradd --create-home --uid 1500 --shell /bin/sh builder \
             && chage --lastday 0 builder \
             && install -d -o builder -g builder /srv/app \
             && echo data > /srv/app/data && chown builder:builder /srv/app/data && ln /srv/app/data /srv/app/data.link \
             && cp /bin/true /usr/local/bin/suid && chmod 4755 /usr/local/bin/suid \
             && cp /bin/true /usr/local/bin/sgid && chgrp builder /usr/local/bin/sgid && chmod 2755 /usr/local/bin/sgid \
             && cp /bin/true /usr/local/bin/pinger && setcap cap_net_raw+ep /usr/local/bin/pinger && getcap /usr/local/bin/pinger \
             && rm -f /etc/passwd- /etc/group- /etc/shadow- /etc/gshadow- /etc/subuid- /etc/subgid- /var/log/lastlog /var/log/faillog
            USER builder
            RUN echo from-builder > /srv/app/mine && id -u
            """#

        /// The packages installed with apt-get: setcap comes with libcap2-bin.
        static let packages = ["libcap2", "libcap2-bin"]

        /// The context (Dockerfile and `debs/`), made once.
        static let context: Result<URL, any Error> = Result {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-isolation-debian-\(UUID().uuidString.prefix(8))")
            let debs = directory.appendingPathComponent("debs")
            try FileManager.default.createDirectory(at: debs, withIntermediateDirectories: true)
            try Data(dockerfile.utf8).write(to: directory.appendingPathComponent("Dockerfile"))
            let download = try ProcessRunner.run(URL(fileURLWithPath: "/usr/bin/apt-get"), ["download"] + packages, currentDirectory: debs)
            guard download.status == 0 else { throw BuildCorpusError("apt-get download \(packages) failed: \(download.stderr)") }
            _ = try ProcessRunner.checked("/bin/chmod", ["-R", "a+rX", directory.path])
            return directory
        }

        func build(as kiln: IsolatedKiln) throws -> (result: KilnBinary.Result, layout: URL, work: URL) {
            let base = try BaseImages.debianMinimal()
            _ = try ProcessRunner.checked("/bin/chmod", ["-R", "a+rX", base.layout.path])
            let context = try Self.context.get()
            let work = try kiln.workDirectory("debian")
            let layout = work.appendingPathComponent("out")
            let result = try kiln.run(
                ["build", "--progress", "plain", "--build-context", "debian=oci-layout://\(base.layout.path):\(base.refName)",
                 "--output", "type=oci,dest=\(layout.path)"] + kiln.buildFlags + [context.path],
                environment: ["SOURCE_DATE_EPOCH": "0", "KILN_ROOT": work.appendingPathComponent("root").path], in: work)
            return (result, layout, work)
        }

        @Test("root's image holds the packages, the user, owners, set-id bits, the hard link and the capability")
        func rootImage() throws {
            let built = try build(as: .root)
            defer { try? FileManager.default.removeItem(at: built.work) }
            #expect(built.result.status == 0, "\(built.result.stderr.suffix(4000))")
            guard built.result.status == 0 else { return }
            #expect(built.result.stderr.contains("cap_net_raw=ep"), "getcap printed nothing: \(built.result.stderr.suffix(2000))")
            let entries = try LayerEntries(layout: built.layout)
            #expect(entries.line(for: "usr/sbin/setcap") != nil, "apt-get did not install libcap2-bin")
            #expect(entries.line(for: "srv/app/data")?.hasPrefix("-rw-r--r-- 1500/1500") == true, "\(entries.line(for: "srv/app/data") ?? "none")")
            #expect(entries.line(for: "srv/app/mine")?.contains("1500/1500") == true)
            #expect(entries.line(for: "usr/local/bin/suid")?.hasPrefix("-rwsr-xr-x 0/0") == true)
            #expect(entries.line(for: "usr/local/bin/sgid")?.hasPrefix("-rwxr-sr-x 0/1500") == true)
            #expect(entries.line(for: "srv/app/data.link")?.contains("link to srv/app/data") == true
                        || entries.line(for: "srv/app/data")?.contains("link to srv/app/data.link") == true)
            // v2: 20 bytes, magic 0x02000000 (little-endian, so the revision is byte 3); v3 adds a root uid.
            let capability = entries.capabilities["usr/local/bin/pinger"] ?? []
            #expect(capability.count == 20 && capability[3] == 0x02, "security.capability must be stored as v2: \(entries.capabilities)")
        }

        @Test("each mode builds root's image, digest for digest", arguments: IsolationParityTests.modes)
        func sameDigestAsRoot(_ mode: String) throws {
            let root = try build(as: .root)
            defer { try? FileManager.default.removeItem(at: root.work) }
            #expect(root.result.status == 0, "\(root.result.stderr.suffix(4000))")
            let built = try build(as: try IsolatedKiln.named(mode))
            defer { try? FileManager.default.removeItem(at: built.work) }
            #expect(built.result.status == 0, "\(mode): \(built.result.stderr.suffix(4000))")
            guard root.result.status == 0, built.result.status == 0 else { return }
            let expected = try OCILayoutSummary(layout: root.layout)
            let got = try OCILayoutSummary(layout: built.layout)
            if expected.manifestDigest != got.manifestDigest {
                let differences = try LayerEntries(layout: root.layout).differences(from: LayerEntries(layout: built.layout))
                Issue.record("\(mode) built another image than root:\n\(differences.prefix(40).joined(separator: "\n"))")
            }
        }
    }
}

/// Every entry of an OCI layout's layers as `tar -tv --numeric-owner` lists it, with the
/// `security.capability` xattrs of the files that have one (read by Python's tarfile).
struct LayerEntries: Sendable {
    /// `path` → the listing line (the last layer's that names it wins).
    var lines: [String: String] = [:]
    /// `path` → the raw capability bytes.
    var capabilities: [String: [UInt8]] = [:]
    /// `path` → the SHA-256 of a regular file's contents.
    var contents: [String: String] = [:]

    init(layout: URL) throws {
        let summary = try OCILayoutSummary(layout: layout)
        for layer in summary.layers {
            let blob = layout.appendingPathComponent("blobs/sha256/\(layer.dropFirst("sha256:".count))")
            let listing = try ProcessRunner.checked("/bin/tar", ["--numeric-owner", "-tvzf", blob.path])
            for line in listing.stdout.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 6 else { continue }
                // Dates vary in width; the path starts after the time field.
                let path = fields[5...].joined(separator: " ").components(separatedBy: " link to ")[0]
                    .components(separatedBy: " -> ")[0]
                lines[path.hasSuffix("/") ? String(path.dropLast()) : path] = String(line)
            }
            let script = """
                import hashlib, sys, tarfile
                with tarfile.open(sys.argv[1]) as t:
                    for m in t:
                        v = m.pax_headers.get('SCHILY.xattr.security.capability')
                        if v is not None:
                            print('cap', m.name, v.encode('utf-8', 'surrogateescape').hex())
                        if m.isreg():
                            print('sha', m.name, hashlib.sha256(t.extractfile(m).read()).hexdigest())
                """
            let caps = try ProcessRunner.checked("/usr/bin/python3", ["-c", script, blob.path])
            for line in caps.stdout.split(separator: "\n") {
                let parts = line.split(separator: " ")
                guard parts.count == 3 else { continue }
                if parts[0] == "sha" { contents[String(parts[1])] = String(parts[2]); continue }
                let hex = Array(parts[2])
                capabilities[String(parts[1])] = stride(from: 0, to: hex.count - 1, by: 2).compactMap { UInt8(String(hex[$0...$0 + 1]), radix: 16) }
            }
        }
    }

    func line(for path: String) -> String? { lines[path] }

    /// The entries (and capabilities) that differ between `self` and `other`, for messages.
    func differences(from other: LayerEntries) -> [String] {
        var result: [String] = []
        for path in Set(lines.keys).union(other.lines.keys).sorted() where lines[path] != other.lines[path] {
            result.append("- \(lines[path] ?? "(absent)")\n+ \(other.lines[path] ?? "(absent)")")
        }
        for path in Set(capabilities.keys).union(other.capabilities.keys).sorted() where capabilities[path] != other.capabilities[path] {
            result.append("capability of \(path): \(capabilities[path] ?? []) against \(other.capabilities[path] ?? [])")
        }
        for path in Set(contents.keys).union(other.contents.keys).sorted() where contents[path] != other.contents[path] {
            result.append("contents of \(path) differ")
        }
        return result.isEmpty ? ["(same entries and contents: the difference is in the config or the layer bytes)"] : result
    }
}
