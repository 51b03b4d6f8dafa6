#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Facts about registry host names (`host`, `host:port`, `[v6]:port`).
public enum RegistryHost {
    /// Whether `host` is this machine: `localhost`, `127.0.0.0/8`, `::1` (also IPv4-mapped), with or
    /// without a port. Registries there are spoken to over plain HTTP, as Docker does.
    public static func isLoopback(_ host: String) -> Bool {
        let address = stripPort(host)
        if address.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { $0[0] == 127 }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { bytes in
                let isOne = bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1
                let isMappedV4Loopback = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
                    && bytes[12] == 127
                return isOne || isMappedV4Loopback
            }
        }
        return false
    }

    /// The address part: `[::1]:5000` → `::1`, `host:5000` → `host`; a bare IPv6 address is kept whole.
    static func stripPort(_ host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<close])
        }
        let colons = host.filter { $0 == ":" }.count
        if colons == 1, let colon = host.firstIndex(of: ":") { return String(host[..<colon]) }
        return host
    }
}
