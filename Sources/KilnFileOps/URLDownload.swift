import AsyncHTTPClient
import Foundation
import KilnOCI
import KilnRegistry
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// An `ADD <url>` source fetched to scratch space, streamed to disk and hashed on the way.
struct URLDownload: Sendable {
    /// The downloaded file.
    var file: URL
    /// sha256 of its bytes.
    var digest: Digest
    /// The server's `Last-Modified`, which Docker gives the file as its mtime.
    var lastModified: Date?

    /// Whether `source` is an `http(s)` URL.
    static func isURL(_ source: String) -> Bool {
        let lower = source.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// Whether `source` names a git repository (BuildKit's rules, simplified).
    static func isGitRepository(_ source: String) -> Bool {
        let lower = source.lowercased()
        if lower.hasPrefix("git://") || lower.hasPrefix("git@") || lower.hasPrefix("ssh://") { return true }
        guard isURL(source), let url = URL(string: source) else { return false }
        return url.path.hasSuffix(".git") || source.contains(".git#")
    }

    /// The file name Docker gives a download into a directory: the URL path's last segment.
    static func fileName(of source: String) throws(FileOperationError) -> String {
        guard let url = URL(string: source), let name = url.path.split(separator: "/").last, name != ".", name != ".." else {
            throw FileOperationError("cannot determine a file name from URL \(source); give the destination a file name")
        }
        return String(name)
    }

    /// Downloads `source` into `directory`, following redirects.
    ///
    /// - Throws: ``FileOperationError`` for a non-2xx status (the status is in the message),
    ///   a transport failure, or a body that is not what `checksum` says.
    static func fetch(_ source: String, into directory: URL, checksum: String?) async throws -> URLDownload {
        let expected: Digest?
        if let checksum {
            guard let digest = try? Digest(parsing: checksum), digest.algorithm == "sha256" else {
                throw FileOperationError("invalid checksum \(checksum): expected sha256:<64 hex digits>")
            }
            expected = digest
        } else {
            expected = nil
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("download-\(UUID().uuidString)")
        var request = HTTPClientRequest(url: source)
        request.method = .GET
        let response: HTTPClientResponse
        do {
            response = try await RegistryClient.sharedHTTPClient.execute(request, timeout: .seconds(600))
        } catch {
            throw FileOperationError("failed to fetch \(source): \(error)")
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            throw FileOperationError("failed to fetch \(source): invalid response status \(response.status.code) \(response.status.reasonPhrase)")
        }
        let fd = open(file.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileOperationError.system("open", file.path, errno) }
        var hasher = DigestHasher()
        do {
            defer { close(fd) }
            for try await buffer in response.body {
                try buffer.withUnsafeReadableBytes { bytes in
                    hasher.update(bytes)
                    try FileWriting.writeAll(fd, bytes, path: file.path)
                }
            }
        } catch {
            try? FileManager.default.removeItem(at: file)
            throw FileOperationError("failed to fetch \(source): \(error)")
        }
        let digest = hasher.finalize()
        if let expected, expected != digest {
            try? FileManager.default.removeItem(at: file)
            throw FileOperationError("checksum mismatch for \(source): expected \(expected), got \(digest)")
        }
        let lastModified = response.headers.first(name: "Last-Modified").flatMap(Self.httpDate)
        return URLDownload(file: file, digest: digest, lastModified: lastModified)
    }

    /// Parses an RFC 7231 date (`Sun, 06 Nov 1994 08:49:37 GMT`).
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
