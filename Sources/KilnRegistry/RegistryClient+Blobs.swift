#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import AsyncHTTPClient
import Foundation
import KilnOCI
import NIOCore
import NIOHTTP1

extension RegistryClient {
    /// The size of blob `digest` in `repository`, or nil when the registry does not have it there
    /// (`HEAD /v2/<name>/blobs/<digest>`).
    public nonisolated func blobSize(_ digest: Digest, in repository: String) async throws -> Int64? {
        let request = RegistryRequest(
            method: .HEAD, url: url(repository, "blobs/\(digest)"), operation: .blobExists, repository: repository,
            scopes: [AuthScope.pull(repository)], followsRedirects: true)
        let response = try await send(request)
        if response.status == .notFound { return nil }
        try await expect(response, [.ok], for: request)
        guard let length = response.headers.first(name: "Content-Length").flatMap(Int64.init) else {
            throw error(.invalidResponse("blob HEAD without Content-Length"), request, status: 200)
        }
        return length
    }

    /// Whether `repository` has blob `digest`.
    public nonisolated func blobExists(_ digest: Digest, in repository: String) async throws -> Bool {
        try await blobSize(digest, in: repository) != nil
    }

    /// Streams blob `digest` of `repository` into `sink`, verifying size (when given) and digest
    /// as the bytes pass, and resuming with a `Range` request where a transfer breaks.
    ///
    /// `sink` sees every byte exactly once, in order, even across resumptions. On a mismatch
    /// the error comes after the sink has seen the bad bytes: callers that keep them must discard
    /// them, as the file-writing overloads do. Returns the byte count.
    @discardableResult
    public nonisolated func fetchBlob(
        _ digest: Digest, size: Int64?, from repository: String, into sink: (ByteBuffer) async throws -> Void
    ) async throws -> Int64 {
        let request = RegistryRequest(
            method: .GET, url: url(repository, "blobs/\(digest)"), operation: .fetchBlob, repository: repository,
            scopes: [AuthScope.pull(repository)], followsRedirects: true)
        guard digest.algorithm == "sha256" else {
            throw error(.invalidResponse("cannot verify \(digest.algorithm) digests"), request)
        }
        var hasher = DigestHasher()
        var received: Int64 = 0
        var breaks = 0
        let policy = configuration.retryPolicy
        while true {
            var attempt = request
            if received > 0 { attempt.headers.replaceOrAdd(name: "Range", value: "bytes=\(received)-") }
            let response = try await send(attempt)
            // Bytes the response repeats that the sink already has: all of them when the server
            // ignored the Range and started over.
            var skip: Int64
            switch response.status {
            case .ok:
                skip = received
            case .partialContent where received > 0:
                guard let start = Self.rangeStart(response.headers.first(name: "Content-Range")), start <= received else {
                    throw error(.invalidResponse("Content-Range does not continue at byte \(received)"), request, status: 206)
                }
                skip = received - start
            default:
                throw await failure(response, request)
            }
            do {
                for try await var chunk in response.body {
                    if skip > 0 {
                        let dropped = Int(min(skip, Int64(chunk.readableBytes)))
                        chunk.moveReaderIndex(forwardBy: dropped)
                        skip -= Int64(dropped)
                    }
                    guard chunk.readableBytes > 0 else { continue }
                    let total = received + Int64(chunk.readableBytes)
                    if let size, total > size { throw error(.sizeMismatch(expected: size, actual: total), request) }
                    chunk.withUnsafeReadableBytes { hasher.update($0) }
                    do { try await sink(chunk) } catch { throw SinkFailure(underlying: error) }
                    received = total
                }
            } catch let failure as SinkFailure {
                throw failure.underlying
            } catch {
                breaks += 1
                guard Self.isTransient(error), policy.allowsRetry(after: breaks) else { throw transportFailure(error, request) }
                try await Task.sleep(for: policy.delay(after: breaks))
                continue
            }
            break
        }
        if let size, received != size { throw error(.sizeMismatch(expected: size, actual: received), request) }
        let actual = hasher.finalize()
        guard actual == digest else { throw error(.digestMismatch(expected: digest, actual: actual), request) }
        return received
    }

    /// Downloads blob `digest` to a new file at `destination`, verified; on any failure the
    /// partial file is removed. Returns the byte count.
    @discardableResult
    public nonisolated func fetchBlob(_ digest: Digest, size: Int64?, from repository: String, to destination: URL) async throws -> Int64 {
        let descriptor = open(destination.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw BlobFileError(path: destination.path, errno: errno) }
        do {
            let count = try await fetchBlob(digest, size: size, from: repository) { chunk in
                try Self.writeAll(chunk, to: descriptor, path: destination.path)
            }
            close(descriptor)
            return count
        } catch {
            close(descriptor)
            unlink(destination.path)
            throw error
        }
    }

    /// Appends blob `digest` to `handle` at its current offset, verified; on failure the file is
    /// truncated back to where it was. Returns the byte count.
    @discardableResult
    public nonisolated func fetchBlob(_ digest: Digest, size: Int64?, from repository: String, to handle: FileHandle) async throws -> Int64 {
        let descriptor = handle.fileDescriptor
        let start = lseek(descriptor, 0, SEEK_CUR)
        do {
            return try await fetchBlob(digest, size: size, from: repository) { chunk in
                try Self.writeAll(chunk, to: descriptor, path: "file descriptor \(descriptor)")
            }
        } catch {
            if start >= 0 {
                _ = ftruncate(descriptor, start)
                _ = lseek(descriptor, start, SEEK_SET)
            }
            throw error
        }
    }

    /// Fetches a small blob (an image config) into memory, verified; larger than `limit` is an error.
    public nonisolated func fetchBlobData(_ digest: Digest, size: Int64?, from repository: String, limit: Int = 16 << 20) async throws -> Data {
        var data = Data()
        try await fetchBlob(digest, size: size, from: repository) { chunk in
            guard data.count + chunk.readableBytes <= limit else {
                throw RegistryError(.invalidResponse("blob larger than \(limit) bytes"), registry: registry,
                                    repository: repository, operation: .fetchBlob)
            }
            data.append(contentsOf: chunk.readableBytesView)
        }
        return data
    }

    /// Deletes blob `digest` from `repository` (the registry must allow deletes).
    public nonisolated func deleteBlob(_ digest: Digest, from repository: String) async throws {
        let request = RegistryRequest(
            method: .DELETE, url: url(repository, "blobs/\(digest)"), operation: .deleteBlob, repository: repository,
            scopes: [AuthScope.delete(repository)])
        let response = try await send(request)
        try await expect(response, [.accepted, .ok, .noContent], for: request)
        await Self.discard(response)
    }

    /// The first byte position of a `Content-Range: bytes start-end/total` header.
    nonisolated static func rangeStart(_ header: String?) -> Int64? {
        guard var text = header?.trimmingCharacters(in: .whitespaces), text.hasPrefix("bytes") else { return nil }
        text = String(text.dropFirst("bytes".count)).trimmingCharacters(in: CharacterSet(charactersIn: " ="))
        return text.split(separator: "-").first.flatMap { Int64($0) }
    }

    private nonisolated static func writeAll(_ chunk: ByteBuffer, to descriptor: Int32, path: String) throws {
        try chunk.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw BlobFileError(path: path, errno: errno)
                }
                offset += written
            }
        }
    }
}

/// Marks an error the caller's sink threw, so it is not mistaken for a broken transfer.
private struct SinkFailure: Error {
    var underlying: any Error
}

/// A local file could not be written while downloading a blob.
public struct BlobFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// The system error number.
    public var errno: Int32

    /// The text form shown to users.
    public var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
}
