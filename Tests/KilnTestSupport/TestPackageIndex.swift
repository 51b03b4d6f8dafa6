import Foundation

/// A stand-in package index on a free loopback port (Python stdlib), for builds whose RUN steps
/// resolve dependencies with real package managers:
///
/// * `/maven/…`: a Maven repository laid out from Debian's packaged one
///   (`/usr/share/maven-repo`, every version as Debian ships it, `debian` and `3.x` aliases
///   included), each file served with its real bytes (Debian links jars into `/usr/share/java`);
///   `.sha1`/`.md5`/`.sha256`/`.sha512` checksums are computed on request.
/// * `/simple/…`: a PEP 503 simple index over the wheels of a folder, served from `/wheels/…`.
///
/// Artifacts (`.jar`, `.pom`, `.whl`) are sent as immutable, with an `ETag`, as Maven Central
/// and PyPI's file host send them. Every artifact body sent is one line in its download log;
/// index pages, checksums and `304` revalidations are not downloads and are not counted.
public final class TestPackageIndex: Sendable {
    /// Debian's packaged Maven repository, the source of the `/maven/` tree.
    public static let debianMavenRepository = URL(fileURLWithPath: "/usr/share/maven-repo")

    /// Whether `python3` and Debian's Maven repository are installed.
    public static var isAvailable: Bool {
        TestRegistryPythonServer.isAvailable(modules: ["http.server"])
            && FileManager.default.fileExists(atPath: debianMavenRepository.appendingPathComponent("org/apache/maven").path)
    }

    /// Why tests that need the index are skipped, for `.enabled(if:_:)`.
    public static let unavailableReason = "python3 or Debian's Maven repository is missing (apt-get install python3 maven)"

    private let server: TestRegistryPythonServer

    /// The loopback port it listens on.
    public var port: Int { server.port }
    /// The Maven repository's URL, for a `settings.xml` mirror of `*`.
    public var mavenURL: String { "http://127.0.0.1:\(port)/maven" }
    /// The simple index's URL, for `pip install --index-url`.
    public var pipIndexURL: String { "http://127.0.0.1:\(port)/simple" }

    private init(server: TestRegistryPythonServer) {
        self.server = server
    }

    /// Starts an index serving Debian's Maven repository and the wheels in `wheels`.
    public static func start(wheels: URL) async throws -> TestPackageIndex {
        let server = try await TestRegistryPythonServer.start(
            name: "package-index", source: pythonSource,
            arguments: { port, directory in [String(port), directory.path, debianMavenRepository.path, wheels.path] })
        return TestPackageIndex(server: server)
    }

    /// The request path of every artifact download so far, in order (one entry per download,
    /// e.g. `/maven/org/slf4j/slf4j-nop/1.7.32/slf4j-nop-1.7.32.jar` or `/wheels/x-1.0-py3-none-any.whl`).
    public func artifactDownloads() -> [String] { server.lines(of: "downloads.log") }

    /// The artifact downloads after the first `count` (a mark taken from ``artifactDownloads()``).
    public func artifactDownloads(after count: Int) -> [String] { Array(artifactDownloads().dropFirst(count)) }

    /// Paths that were asked for and do not exist (answered 404): what a failed resolution missed.
    public func missingPaths() -> [String] { server.lines(of: "missing.log") }

    /// Terminates the server and removes its folder.
    public func stop() async { await server.stop() }

    private static let pythonSource = #"""
import hashlib, html, os, re, shutil, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

port, directory, maven_root, wheels = sys.argv[1:5]
log_lock = threading.Lock()
ARTIFACT = re.compile(r"\.(jar|pom|whl)$")
CHECKSUM = {".sha1": hashlib.sha1, ".md5": hashlib.md5, ".sha256": hashlib.sha256, ".sha512": hashlib.sha512}

def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()

def wheel_project(filename):
    return normalize(filename.split("-")[0])

def digest(path, algorithm=hashlib.sha256):
    h = algorithm()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

def record(name, line):
    with log_lock:
        with open(os.path.join(directory, name), "a") as f:
            f.write(line + "\n")

def inside(root, relative):
    # Debian's repository links jars into /usr/share/java: follow links, but only for paths
    # that name no parent folder themselves.
    parts = [p for p in relative.split("/") if p]
    if any(p in (".", "..") for p in parts):
        return None
    return os.path.join(root, *parts)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_bytes(self, status, body, content_type, cache):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(body)

    def missing(self, path):
        record("missing.log", path)
        self.send_bytes(404, b"not found\n", "text/plain", "no-store")

    def send_file(self, path, request_path, content_type):
        # Artifacts never change under a path (as on Maven Central and PyPI's file host): they
        # may be cached for good, and a revalidation with the ETag costs no download.
        tag = '"%s"' % digest(path)
        if self.headers.get("If-None-Match") == tag:
            self.send_response(304)
            self.send_header("ETag", tag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = os.path.getsize(path)
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(size))
        self.send_header("ETag", tag)
        self.send_header("Cache-Control", "max-age=365000000, immutable, public")
        self.end_headers()
        if self.command != "GET":
            return
        with open(path, "rb") as f:
            shutil.copyfileobj(f, self.wfile)
        if ARTIFACT.search(request_path):
            record("downloads.log", request_path)

    def maven(self, request_path, relative):
        for suffix, algorithm in CHECKSUM.items():
            if relative.endswith(suffix):
                path = inside(maven_root, relative[: -len(suffix)])
                if path is None or not os.path.isfile(path):
                    return self.missing(request_path)
                return self.send_bytes(200, digest(path, algorithm).encode(), "text/plain", "max-age=600, public")
        path = inside(maven_root, relative)
        if path is None or not os.path.isfile(path):
            return self.missing(request_path)
        content_type = "application/java-archive" if relative.endswith(".jar") else "application/xml"
        self.send_file(path, request_path, content_type)

    def simple(self, request_path, project):
        files = sorted(f for f in os.listdir(wheels) if f.endswith(".whl"))
        if not project:
            names = sorted({wheel_project(f) for f in files})
            links = "".join('<a href="%s/">%s</a>\n' % (n, n) for n in names)
        else:
            chosen = [f for f in files if wheel_project(f) == normalize(project)]
            if not chosen:
                return self.missing(request_path)
            links = "".join('<a href="/wheels/%s#sha256=%s">%s</a>\n' % (html.escape(f), digest(os.path.join(wheels, f)), html.escape(f))
                            for f in chosen)
        body = ("<!DOCTYPE html>\n<html><body>\n%s</body></html>\n" % links).encode()
        self.send_bytes(200, body, "text/html", "max-age=600, public")

    def do_GET(self):
        request_path = unquote(urlparse(self.path).path)
        if request_path.startswith("/maven/"):
            return self.maven(request_path, request_path[len("/maven/"):])
        if request_path == "/simple" or request_path.startswith("/simple/"):
            return self.simple(request_path, request_path[len("/simple/"):].strip("/"))
        if request_path.startswith("/wheels/"):
            path = inside(wheels, request_path[len("/wheels/"):])
            if path is None or not os.path.isfile(path):
                return self.missing(request_path)
            return self.send_file(path, request_path, "application/octet-stream")
        self.missing(request_path)

    do_HEAD = do_GET

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
"""#
}

/// Runs `body` with a package index serving `wheels` and stops it afterwards.
public func withPackageIndex<T>(wheels: URL, _ body: (TestPackageIndex) async throws -> T) async throws -> T {
    try await withStopping(try await TestPackageIndex.start(wheels: wheels), stop: { await $0.stop() }, body)
}
