import Foundation
import Glibc

/// A TCP socket listening on one IPv4 address of this host (loopback, or a link-local address
/// a test put on `lo`), to learn whether a sandboxed step could reach it.
///
/// Nothing is served: a connection counts once the kernel completed its handshake, which
/// happens before the client's `connect` returns. So after the client has finished,
/// ``pendingConnections()`` knows for certain whether it got through, with no waiting.
public final class TCPListener: @unchecked Sendable {
    /// The port the kernel picked.
    public let port: UInt16
    /// The address listened on.
    public let address: String
    private var fd: Int32

    /// Listens on `address` (dotted IPv4) on a free port.
    public init(address: String = "127.0.0.1") throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ProcessFailure(description: "socket: \(String(cString: strerror(errno)))") }
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = 0
        guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else {
            close(fd)
            throw ProcessFailure(description: "not an IPv4 address: \(address)")
        }
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw ProcessFailure(description: "bind/listen \(address): \(message)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: socketAddress.sin_port)
        self.address = address
        self.fd = fd
    }

    /// Accepts (and closes) every connection already established; returns how many there were.
    public func pendingConnections() -> Int {
        var count = 0
        while true {
            // The socket is non-blocking, so accept returns at once when nothing is queued.
            let client = accept(fd, nil, nil)
            if client < 0 { return count }
            close(client)
            count += 1
        }
    }

    /// Stops listening.
    public func stop() {
        if fd >= 0 { close(fd) }
        fd = -1
    }

    deinit { stop() }
}

/// An IPv4 address added to the loopback interface for one test (`ip addr add ADDR/32 dev lo`)
/// and removed by ``remove()``: a stand-in for the link-local services (cloud metadata at
/// 169.254.169.254) a build step must not reach.
public struct LoopbackAlias: Sendable {
    /// The address.
    public let address: String

    /// Adds a random address of 169.254.0.0/16 to `lo`.
    public init() throws {
        address = "169.254.\(Int.random(in: 1...254)).\(Int.random(in: 1...254))"
        try ProcessRunner.checked("ip", ["addr", "add", "\(address)/32", "dev", "lo"])
    }

    /// Removes the address again.
    public func remove() {
        _ = try? ProcessRunner.checked("ip", ["addr", "del", "\(address)/32", "dev", "lo"])
    }
}
