import Foundation

/// A fault-injecting HTTP proxy in front of a ``TestRegistry`` or a ``TestTokenServer`` (Python stdlib), to prove that a
/// client rides out broken transfers: it can cut blob downloads halfway, answer 503 with
/// `Retry-After: 0`, or drop a `PATCH` after forwarding half its body. It can also paginate
/// tag lists, which the registry itself does not. Each fault fires as many
/// times as asked, then the proxy forwards faithfully. Every request is logged to `proxy.log`.
public final class TestRegistryFaultProxy: Sendable {
    /// The faults to inject, each a number of times.
    public struct Faults: Sendable, Codable {
        /// Blob GETs whose response is cut after half the body.
        public var dropBlobGets = 0
        /// Requests answered 503 before reaching the registry.
        public var serverErrors = 0
        /// PATCHes whose connection dies after half the body reached the registry.
        public var dropPatches = 0
        /// Whether `tags/list` honours `n=`/`last=` with `Link` headers, as distribution 3 does
        /// and Debian's distribution 2.8 does not.
        public var paginateTags = false
        /// Requests that get no answer at all (the connection hangs until the client gives up).
        public var stalls = 0
        /// Whether the proxy demands basic auth (any credentials) and answers blob GETs with a
        /// `307` to `localhost:<port>/storage/…`, a different origin, the way registries send
        /// clients to object storage.
        public var redirectBlobGets = false
        /// Whether cross-repository mounts are refused with 403 `DENIED`, as for a source
        /// repository the client may not read.
        public var denyMounts = false
        /// Requests answered 429 with `Retry-After: 1` before reaching the registry.
        public var tooManyRequests = 0
        /// Plays a proxy killed mid-push: once this many request-body bytes have gone upstream,
        /// the request that crosses the mark is cut there and every later request is refused.
        public var dieAfterUploadedBytes: Int?
        /// Milliseconds every forwarded request waits before it goes upstream: a far registry.
        /// Each log line then ends in `inflight=N`, the requests under way when it started.
        public var latencyMilliseconds = 0

        /// Creates a fault plan.
        public init(
            dropBlobGets: Int = 0, serverErrors: Int = 0, dropPatches: Int = 0, paginateTags: Bool = false, stalls: Int = 0,
            redirectBlobGets: Bool = false, denyMounts: Bool = false, tooManyRequests: Int = 0,
            dieAfterUploadedBytes: Int? = nil, latencyMilliseconds: Int = 0
        ) {
            self.latencyMilliseconds = latencyMilliseconds
            self.tooManyRequests = tooManyRequests
            self.dieAfterUploadedBytes = dieAfterUploadedBytes
            self.dropBlobGets = dropBlobGets
            self.serverErrors = serverErrors
            self.dropPatches = dropPatches
            self.paginateTags = paginateTags
            self.stalls = stalls
            self.redirectBlobGets = redirectBlobGets
            self.denyMounts = denyMounts
        }
    }

    /// Whether `python3` is installed.
    public static let isAvailable = TestRegistryPythonServer.isAvailable(modules: ["http.client"])

    private let server: TestRegistryPythonServer

    /// `127.0.0.1:<port>`: talk to this instead of the registry.
    public var host: String { "127.0.0.1:\(server.port)" }

    private init(server: TestRegistryPythonServer) {
        self.server = server
    }

    /// Starts a proxy with `faults` for the HTTP server on loopback port `upstreamPort` (a
    /// registry, or the token service in front of which 503s test token retries).
    public static func start(upstreamPort: Int, faults: Faults) async throws -> TestRegistryFaultProxy {
        let rules = String(decoding: try JSONEncoder().encode(faults), as: UTF8.self)
        let server = try await TestRegistryPythonServer.start(
            name: "fault-proxy", source: pythonSource,
            arguments: { port, directory in [String(port), String(upstreamPort), directory.path, rules] })
        return TestRegistryFaultProxy(server: server)
    }

    /// Requests so far, one line each: `METHOD path status|503|stalled|dropped-… range=<Range or ->`,
    /// `METHOD path 401|307` in redirect mode, and `METHOD /storage/… storage auth=yes|no` for
    /// requests that followed a redirect.
    public func requests() -> [String] { server.lines(of: "proxy.log") }

    /// Terminates the proxy and removes its folder.
    public func stop() async { await server.stop() }

    private static let pythonSource = #"""
import http.client, json, socket, sys, threading, time
from urllib.parse import parse_qs, urlparse

port, upstream_port, directory, rules = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
lock = threading.Lock()
budget = {"dropBlobGets": rules.get("dropBlobGets", 0), "serverErrors": rules.get("serverErrors", 0),
          "dropPatches": rules.get("dropPatches", 0), "stalls": rules.get("stalls", 0),
          "tooManyRequests": rules.get("tooManyRequests", 0)}
uploaded = [0, False]  # request-body bytes forwarded so far, and whether the proxy has "died"
inflight = [0]  # forwarded requests under way (latency mode)

def take(name):
    with lock:
        if budget[name] > 0:
            budget[name] -= 1
            return True
        return False

def record(line):
    with lock:
        with open(directory + "/proxy.log", "a") as f:
            f.write(line + "\n")

def read_head(conn, buffer):
    while b"\r\n\r\n" not in buffer:
        data = conn.recv(65536)
        if not data:
            return None, None, buffer
        buffer += data
    head, _, rest = buffer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    return lines[0], [tuple(l.split(":", 1)) for l in lines[1:] if ":" in l], rest

def read_exact(conn, buffer, length):
    while len(buffer) < length:
        data = conn.recv(65536)
        if not data:
            break
        buffer += data
    return buffer[:length], buffer[length:]

def handle(conn):
    buffer = b""
    try:
        while True:
            request_line, headers, buffer = read_head(conn, buffer)
            if request_line is None:
                return
            method, path, _ = request_line.split(" ", 2)
            length = int(next((v for k, v in headers if k.strip().lower() == "content-length"), "0"))
            limit = rules.get("dieAfterUploadedBytes")
            if limit is not None:
                with lock:
                    dead = uploaded[1]
                    cut = None if dead or uploaded[0] + length <= limit else limit - uploaded[0]
                    if cut is not None:
                        uploaded[1] = True
                    if not dead:
                        uploaded[0] += length
                if dead:
                    record("%s %s dead" % (method, path))
                    return
                if cut is not None:
                    part, buffer = read_exact(conn, buffer, cut)
                    upstream = socket.create_connection(("127.0.0.1", upstream_port))
                    upstream.sendall((request_line + "\r\n" + "".join("%s:%s\r\n" % (k, v) for k, v in headers) + "\r\n").encode("latin-1") + part)
                    upstream.close()
                    record("%s %s died-after=%d" % (method, path, cut))
                    return
            if method == "PATCH" and take("dropPatches"):
                half, buffer = read_exact(conn, buffer, length // 2)
                upstream = socket.create_connection(("127.0.0.1", upstream_port))
                upstream.sendall((request_line + "\r\n" + "".join("%s:%s\r\n" % (k, v) for k, v in headers) + "\r\n").encode("latin-1") + half)
                upstream.close()
                record("%s %s dropped-request" % (method, path))
                return
            body, buffer = read_exact(conn, buffer, length)
            if take("stalls"):
                record("%s %s stalled" % (method, path))
                time.sleep(120)
                return
            if rules.get("redirectBlobGets"):
                # Plays a registry with basic auth whose blobs live in "storage" on another origin
                # (localhost instead of 127.0.0.1) that must not see the registry's credentials.
                authorized = any(k.strip().lower() == "authorization" for k, _ in headers)
                if path.startswith("/storage/"):
                    record("%s %s storage auth=%s" % (method, path, "yes" if authorized else "no"))
                    path = path[len("/storage"):]
                    headers = [(k, v) for k, v in headers if k.strip().lower() != "authorization"]
                elif not authorized:
                    record("%s %s 401" % (method, path))
                    conn.sendall(b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="proxy"\r\nContent-Length: 0\r\n\r\n')
                    continue
                elif method == "GET" and "/blobs/sha256:" in path:
                    record("%s %s 307" % (method, path))
                    location = "http://localhost:%d/storage%s" % (port, path)
                    conn.sendall(("HTTP/1.1 307 Temporary Redirect\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % location).encode())
                    continue
            if rules.get("denyMounts") and method == "POST" and "mount=" in path:
                record("%s %s 403" % (method, path))
                denied = b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}'
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(denied) + denied)
                continue
            if take("tooManyRequests"):
                record("%s %s 429" % (method, path))
                conn.sendall(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n")
                continue
            if take("serverErrors"):
                record("%s %s 503" % (method, path))
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n")
                continue
            latency = rules.get("latencyMilliseconds", 0)
            started_with = ""
            if latency:
                with lock:
                    inflight[0] += 1
                    started_with = " inflight=%d" % inflight[0]
                time.sleep(latency / 1000.0)
                with lock:
                    inflight[0] -= 1
            upstream = http.client.HTTPConnection("127.0.0.1", upstream_port)
            parsed = urlparse(path)
            paginate = rules.get("paginateTags") and method == "GET" and parsed.path.endswith("/tags/list")
            upstream.putrequest(method, parsed.path if paginate else path, skip_host=True, skip_accept_encoding=True)
            for k, v in headers:
                upstream.putheader(k.strip(), v.strip())
            upstream.endheaders(body if length else None)
            response = upstream.getresponse()
            payload = response.read()
            out = ["HTTP/1.1 %d %s" % (response.status, response.reason)]
            if paginate and response.status == 200:
                # Distribution 2.8 ignores n= on tags/list; page the way distribution 3 does.
                document = json.loads(payload)
                query = parse_qs(parsed.query)
                tags = sorted(document.get("tags") or [])
                last = query.get("last", [""])[0]
                tags = [t for t in tags if t > last]
                count = int(query.get("n", [str(len(tags))])[0])
                if count < len(tags):
                    out.append('Link: <%s?n=%d&last=%s>; rel="next"' % (parsed.path, count, tags[count - 1]))
                document["tags"] = tags[:count]
                payload = json.dumps(document).encode()
            for k, v in response.getheaders():
                if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                    out.append("%s: %s" % (k, v))
            declared = response.getheader("Content-Length")
            out.append("Content-Length: %s" % (declared if method == "HEAD" and declared else len(payload)))
            conn.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
            upstream.close()
            if method == "GET" and "/blobs/sha256:" in path and len(payload) > 1 and take("dropBlobGets"):
                conn.sendall(payload[: len(payload) // 2])
                record("%s %s %d dropped-response range=%s" % (method, path, response.status,
                       next((v.strip() for k, v in headers if k.strip().lower() == "range"), "-")))
                return
            conn.sendall(payload)
            record("%s %s %d range=%s%s" % (method, path, response.status,
                   next((v.strip() for k, v in headers if k.strip().lower() == "range"), "-"), started_with))
    except (ConnectionError, OSError):
        pass
    finally:
        conn.close()

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(64)
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
"""#
}

/// Runs `body` with a proxy for `registry` and stops it afterwards.
public func withFaultProxy<T>(
    for registry: TestRegistry, faults: TestRegistryFaultProxy.Faults, _ body: (TestRegistryFaultProxy) async throws -> T
) async throws -> T {
    try await withFaultProxy(upstreamPort: registry.port, faults: faults, body)
}

/// Runs `body` with a proxy for the server on loopback port `upstreamPort` and stops it afterwards.
public func withFaultProxy<T>(
    upstreamPort: Int, faults: TestRegistryFaultProxy.Faults, _ body: (TestRegistryFaultProxy) async throws -> T
) async throws -> T {
    try await withStopping(try await TestRegistryFaultProxy.start(upstreamPort: upstreamPort, faults: faults), stop: { await $0.stop() }, body)
}
