import Foundation
import Glibc

/// A Unix socket of one RUN step's own that relays every connection to an ssh agent
/// (`RUN --mount=type=ssh`): the step talks to the agent, but gets neither the agent's own
/// socket (nor its directory) nor anything after the step ends. The socket is owned by the
/// step's user with the mount's mode, so a non-root `USER` can use it.
///
/// The relays are plain blocking sockets on threads of their own: an agent conversation is a
/// handful of small messages, and nothing here may wait on the build's task pool.
public final class SSHAgentProxy: @unchecked Sendable {
    /// The socket to bind-mount into the step.
    public let socket: URL
    private let upstream: URL
    private let listener: Int32
    /// Written to (closed) on ``stop()``: wakes every relay's `poll`.
    private let stopPipe: (read: Int32, write: Int32)
    private let lock = NSLock()
    private var stopped = false
    private var acceptor: Thread?

    /// Listens at `socket` (which must not exist) for connections to relay to the agent
    /// listening at `upstream`; the socket file gets `uid`:`gid` and `mode`.
    public init(relayingTo upstream: URL, at socket: URL, uid: UInt32, gid: UInt32, mode: UInt32) throws {
        self.socket = socket
        self.upstream = upstream
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SSHAgentProxyError.system("pipe", errno) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        stopPipe = (fds[0], fds[1])
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SSHAgentProxyError.system("socket", errno) }
        listener = fd
        do {
            try UnixSocketPath.withAddress(of: socket) { address, length in
                guard bind(fd, address, length) == 0 else { throw SSHAgentProxyError.system("bind \(socket.path)", errno) }
            }
            guard listen(fd, 16) == 0 else { throw SSHAgentProxyError.system("listen", errno) }
            guard chown(socket.path, uid, gid) == 0 else { throw SSHAgentProxyError.system("chown \(socket.path)", errno) }
            guard chmod(socket.path, mode_t(mode & 0o777)) == 0 else { throw SSHAgentProxyError.system("chmod \(socket.path)", errno) }
        } catch {
            close(fd)
            close(stopPipe.read)
            close(stopPipe.write)
            unlink(socket.path)
            throw error
        }
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "kiln ssh agent proxy"
        acceptor = thread
        thread.start()
    }

    /// Ends every relay, stops listening and removes the socket. Safe to call twice.
    public func stop() {
        lock.lock()
        let first = !stopped
        stopped = true
        lock.unlock()
        guard first else { return }
        close(stopPipe.write)
        // Wakes the blocked accept (it fails with EINVAL once the socket is shut down).
        shutdown(listener, Int32(SHUT_RDWR))
        unlink(socket.path)
    }

    deinit {
        stop()
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    private func acceptLoop() {
        defer { close(listener) }
        while !isStopped {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            let worker = Thread { [self] in relay(client) }
            worker.name = "kiln ssh agent relay"
            worker.start()
        }
    }

    /// Copies bytes both ways between `client` and a new connection to the agent until
    /// either side closes or the proxy stops.
    private func relay(_ client: Int32) {
        defer { close(client) }
        let agent = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard agent >= 0 else { return }
        defer { close(agent) }
        let connected = (try? UnixSocketPath.withAddress(of: upstream) { address, length in connect(agent, address, length) == 0 }) ?? false
        guard connected else { return }
        var fds = [pollfd(fd: client, events: Int16(POLLIN), revents: 0), pollfd(fd: agent, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 || errno == EINTR else { return }
            if fds[2].revents != 0 { return }
            for (from, to) in [(0, 1), (1, 0)] where fds[from].revents != 0 {
                let count = read(fds[from].fd, &buffer, buffer.count)
                if count <= 0 { return }
                var written = 0
                while written < count {
                    let done = buffer.withUnsafeBytes { write(fds[to].fd, $0.baseAddress! + written, count - written) }
                    if done < 0 && errno == EINTR { continue }
                    if done <= 0 { return }
                    written += done
                }
            }
        }
    }
}

/// Why a proxy could not be set up.
public enum SSHAgentProxyError: Error, CustomStringConvertible {
    /// A system call failed.
    case system(String, Int32)

    public var description: String {
        switch self {
        case .system(let operation, let code): return "\(operation): \(String(cString: strerror(code)))"
        }
    }
}

/// `sockaddr_un` for a path of any length: one longer than `sun_path` holds (108 bytes; build
/// roots can be deep) is reached through `/proc/self/fd/N/` of its opened directory.
enum UnixSocketPath {
    static func withAddress<T>(of path: URL, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) throws -> T {
        var directory: Int32 = -1
        defer { if directory >= 0 { close(directory) } }
        var text = path.path
        if text.utf8.count >= 100 {
            // O_PATH (0o10000000): Glibc does not export it to Swift.
            directory = open(path.deletingLastPathComponent().path, 0o10000000 | O_DIRECTORY | O_CLOEXEC)
            guard directory >= 0 else { throw SSHAgentProxyError.system("open \(path.deletingLastPathComponent().path)", errno) }
            text = "/proc/self/fd/\(directory)/\(path.lastPathComponent)"
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(text.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw SSHAgentProxyError.system("socket path \(text)", ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return try withUnsafePointer(to: &address) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
