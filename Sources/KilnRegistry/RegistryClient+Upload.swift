import AsyncHTTPClient
import Foundation
import KilnOCI
import NIOCore
import NIOHTTP1

/// How a blob came to be in the target repository.
public enum BlobPushResult: Sendable, Hashable {
    /// The repository already had it; nothing was sent.
    case alreadyPresent
    /// The registry linked it from another repository of the same registry; nothing was sent.
    case mounted(from: String)
    /// Its bytes were uploaded.
    case uploaded
}

extension RegistryClient {
    /// Makes blob `digest` (`size` bytes at `offset` in the file at `file`) present in `repository`: skipped
    /// when already there, mounted from the first of `mountSources` that has it, else uploaded —
    /// in one `PUT` up to ``Configuration/monolithicUploadLimit``, in `PATCH` chunks above it.
    /// The file is streamed, never read into memory whole.
    @discardableResult
    public nonisolated func pushBlob(
        file: URL, offset: Int64 = 0, digest: Digest, size: Int64, to repository: String, mountSources: [String] = []
    ) async throws -> BlobPushResult {
        if try await blobExists(digest, in: repository) { return .alreadyPresent }
        var session: String?
        let sources = mountSources.filter { $0 != repository }
        for (position, source) in sources.enumerated() {
            let outcome: MountOutcome
            do {
                outcome = try await startMount(digest, from: source, to: repository)
            } catch let failure as RegistryError where [.denied, .notFound, .unauthorized].contains(failure.kind) {
                // A source the client may not read, or that is gone, is just not a shortcut; the
                // upload below reports any problem with the target itself.
                continue
            }
            switch outcome {
            case .mounted:
                return .mounted(from: source)
            case .session(let location) where position == sources.count - 1:
                session = location
            case .session(let location):
                await cancelUpload(location, repository: repository)
            }
        }
        try await upload(.file(path: file.path, offset: offset, length: size), digest: digest, to: repository, session: session)
        return .uploaded
    }

    /// Uploads `data` as a blob of `repository` unless it is already there. Returns its descriptor
    /// fields (digest, size) through `EncodedBlob`.
    @discardableResult
    public nonisolated func pushBlob(data: Data, to repository: String) async throws -> EncodedBlob {
        let blob = EncodedBlob(bytes: data)
        if try await blobExists(blob.digest, in: repository) { return blob }
        try await upload(.bytes(ByteBuffer(bytes: data)), digest: blob.digest, to: repository, session: nil)
        return blob
    }

    /// Uploads blob `digest` (`size` bytes) from `bytes`, a one-shot stream such as a download
    /// from another registry, in one streamed `PUT`, so that the blob passes through without
    /// touching the disk. Skipped when already there. Not retried, since the stream cannot be
    /// replayed: callers fall back to a retrying upload from a file when it fails.
    @discardableResult
    public nonisolated func pushBlob<Bytes: AsyncSequence & Sendable>(
        streaming bytes: Bytes, digest: Digest, size: Int64, to repository: String
    ) async throws -> BlobPushResult where Bytes.Element == ByteBuffer {
        if try await blobExists(digest, in: repository) { return .alreadyPresent }
        let location = try await startUpload(to: repository)
        do {
            try await commit(location, digest: digest, body: .stream({ .stream(bytes, length: .known(size)) }, length: size),
                             repository: repository)
        } catch {
            await cancelUpload(location, repository: repository)
            throw error
        }
        return .uploaded
    }

    /// Asks the registry to link blob `digest` from `source` into `repository` without a transfer
    /// (`POST …/blobs/uploads/?mount=&from=`). False when it declined (it does not have the blob
    /// there, or the client may not read `source`); the upload session it opened instead is cancelled.
    public nonisolated func mountBlob(_ digest: Digest, from source: String, to repository: String) async throws -> Bool {
        switch try await startMount(digest, from: source, to: repository) {
        case .mounted:
            return true
        case .session(let location):
            await cancelUpload(location, repository: repository)
            return false
        }
    }

    private enum MountOutcome {
        case mounted
        case session(String)
    }

    private nonisolated func startMount(_ digest: Digest, from source: String, to repository: String) async throws -> MountOutcome {
        let request = RegistryRequest(
            method: .POST, url: url(repository, "blobs/uploads/?mount=\(digest)&from=\(source)"),
            operation: .mountBlob, repository: repository,
            scopes: [AuthScope.push(repository), AuthScope.pull(source)])
        let response = try await send(request)
        try await expect(response, [.created, .accepted], for: request)
        await Self.discard(response)
        if response.status == .created { return .mounted }
        return .session(try location(of: response, request))
    }

    /// Opens an upload session; returns its `Location`.
    private nonisolated func startUpload(to repository: String) async throws -> String {
        let request = RegistryRequest(
            method: .POST, url: url(repository, "blobs/uploads/"), operation: .pushBlob, repository: repository,
            scopes: [AuthScope.push(repository)])
        let response = try await send(request)
        try await expect(response, [.accepted], for: request)
        await Self.discard(response)
        return try location(of: response, request)
    }

    /// Uploads `body` into a session (the given one, else a new one). A session that breaks
    /// mid-body may hold part of it, so a monolithic upload, or a chunked one whose session
    /// cannot be resumed, starts over in a fresh session.
    private nonisolated func upload(
        _ body: RegistryRequest.Body, digest: Digest, to repository: String, session: String?
    ) async throws {
        let policy = configuration.retryPolicy
        var session = session
        var attempt = 0
        while true {
            attempt += 1
            var location: String
            if let session { location = session } else { location = try await startUpload(to: repository) }
            session = nil
            do {
                if body.length > configuration.monolithicUploadLimit, case .file(let path, let offset, let length) = body {
                    location = try await uploadChunks(
                        path: path, start: offset, length: length, location: location, repository: repository)
                    try await commit(location, digest: digest, body: .none, repository: repository)
                } else {
                    try await commit(location, digest: digest, body: body, repository: repository)
                }
                return
            } catch let failure as RegistryError {
                guard failure.isTransient, policy.allowsRetry(after: attempt) else { throw failure }
                await cancelUpload(location, repository: repository)
                try await Task.sleep(for: policy.delay(after: attempt))
            }
        }
    }

    /// `PATCH`es the file in chunks of ``Configuration/uploadChunkSize``. When a chunk breaks, asks
    /// the session how much arrived (`GET` → `Range`) and carries on from there. Returns the
    /// session's latest `Location`.
    private nonisolated func uploadChunks(
        path: String, start: Int64, length: Int64, location: String, repository: String
    ) async throws -> String {
        var location = location
        var offset: Int64 = 0
        var failures = 0
        let policy = configuration.retryPolicy
        while offset < length {
            let count = min(configuration.uploadChunkSize, length - offset)
            var request = RegistryRequest(
                method: .PATCH, url: location, operation: .pushBlob, repository: repository,
                scopes: [AuthScope.push(repository)], body: .file(path: path, offset: start + offset, length: count),
                retries: false)
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.headers.add(name: "Content-Range", value: "\(offset)-\(offset + count - 1)")
            do {
                let response = try await send(request)
                try await expect(response, [.accepted, .noContent], for: request)
                await Self.discard(response)
                location = try self.location(of: response, request)
                offset += count
                failures = 0
            } catch let failure as RegistryError {
                failures += 1
                guard failure.isTransient, policy.allowsRetry(after: failures) else { throw failure }
                try await Task.sleep(for: policy.delay(after: failures))
                // A registry that cannot say where the session stands (distribution refuses a
                // session whose stored size no longer matches its state token) gets the original
                // failure back, and the caller starts over in a fresh session.
                guard let status = try? await uploadStatus(location, repository: repository) else { throw failure }
                (location, offset) = status
            }
        }
        return location
    }

    /// How many bytes a session holds: `GET` on its location answers 204 with `Range: 0-<last>`.
    private nonisolated func uploadStatus(_ location: String, repository: String) async throws -> (String, Int64) {
        let request = RegistryRequest(
            method: .GET, url: location, operation: .pushBlob, repository: repository, scopes: [AuthScope.push(repository)])
        let response = try await send(request)
        try await expect(response, [.noContent, .ok], for: request)
        await Self.discard(response)
        let next = (try? self.location(of: response, request)) ?? location
        guard let range = response.headers.first(name: "Range"),
              let last = range.split(separator: "-").last.flatMap({ Int64($0) })
        else { return (next, 0) }
        return (next, last + 1)
    }

    /// Closes the session with the blob's digest (`PUT …?digest=`), sending `body` as its last bytes.
    private nonisolated func commit(_ location: String, digest: Digest, body: RegistryRequest.Body, repository: String) async throws {
        let separator = location.contains("?") ? "&" : "?"
        var request = RegistryRequest(
            method: .PUT, url: location + separator + "digest=\(digest)", operation: .pushBlob, repository: repository,
            scopes: [AuthScope.push(repository)], body: body, retries: body.length == 0)
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        let response: HTTPClientResponse
        do {
            response = try await send(request)
        } catch {
            throw transportFailure(error, request)
        }
        try await expect(response, [.created, .noContent, .accepted], for: request)
        await Self.discard(response)
    }

    /// Abandons a session, best effort: the registry purges stale ones anyway.
    private nonisolated func cancelUpload(_ location: String, repository: String) async {
        let request = RegistryRequest(
            method: .DELETE, url: location, operation: .pushBlob, repository: repository,
            scopes: [AuthScope.push(repository)], retries: false)
        if let response = try? await send(request) { await Self.discard(response) }
    }

    /// The absolute URL of a response's `Location`.
    private nonisolated func location(of response: HTTPClientResponse, _ request: RegistryRequest) throws -> String {
        guard let value = response.headers.first(name: "Location"), !value.isEmpty else {
            throw error(.invalidResponse("upload response without Location"), request, status: Int(response.status.code))
        }
        return resolve(value, against: request.url)
    }
}
