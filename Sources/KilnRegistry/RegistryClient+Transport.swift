import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension RegistryClient {
    /// Sends `request`, authenticating on a 401 (once), following redirects when asked, and
    /// retrying connection failures, 5xx and 429 with back-off. Returns the first response that
    /// is none of those; its body is the caller's to read.
    func send(_ request: RegistryRequest) async throws -> HTTPClientResponse {
        var url = request.url
        var attempt = 0
        var authenticated = false
        var redirects = 0
        let policy = request.retries ? configuration.retryPolicy : .none
        while true {
            attempt += 1
            // Credentials go to the registry itself, never to the storage a redirect points at.
            let sameOrigin = url.hasPrefix(baseURL + "/")
            let authorization = sameOrigin ? try await authorization(for: request.scopes) : nil
            let httpRequest = makeHTTPRequest(request, url: url, authorization: authorization)
            let response: HTTPClientResponse
            do {
                response = try await httpClient.execute(httpRequest, timeout: TimeAmount(timeout(for: request)))
            } catch {
                guard Self.isTransient(error), policy.allowsRetry(after: attempt) else {
                    throw transportFailure(error, request)
                }
                try await Task.sleep(for: policy.delay(after: attempt))
                continue
            }

            if response.status == .unauthorized, sameOrigin {
                let header = response.headers.first(name: "WWW-Authenticate")
                if !authenticated, let challenge = header.flatMap(AuthChallenge.init(parsing:)),
                   try await adopt(challenge: challenge, scopes: request.scopes) {
                    authenticated = true
                    attempt -= 1
                    await Self.discard(response)
                    continue
                }
                throw await failure(response, request)
            }
            if request.followsRedirects, [301, 302, 303, 307, 308].contains(response.status.code),
               let location = response.headers.first(name: "Location"), redirects < 10 {
                redirects += 1
                attempt -= 1
                url = resolve(location, against: url)
                await Self.discard(response)
                continue
            }
            if Self.isTransient(response.status), policy.allowsRetry(after: attempt) {
                let retryAfter = RetryPolicy.retryAfter(response.headers.first(name: "Retry-After"))
                await Self.discard(response)
                try await Task.sleep(for: policy.delay(after: attempt, retryAfter: retryAfter))
                continue
            }
            return response
        }
    }

    /// Throws the registry's error unless `response` has one of `statuses`.
    func expect(_ response: HTTPClientResponse, _ statuses: Set<HTTPResponseStatus>, for request: RegistryRequest) async throws {
        guard statuses.contains(response.status) else { throw await failure(response, request) }
    }

    /// The error for an unwanted response, with the registry's `errors[]` from its body.
    func failure(_ response: HTTPClientResponse, _ request: RegistryRequest) async -> RegistryError {
        let body = (try? await response.body.collect(upTo: 1 << 16)) ?? ByteBuffer()
        let kind: RegistryError.Kind
        switch response.status {
        case .unauthorized: kind = .unauthorized
        case .forbidden: kind = .denied
        case .notFound: kind = .notFound
        case .tooManyRequests: kind = .tooManyRequests
        default: kind = .unexpectedStatus
        }
        var details = ErrorBody.details(in: body)
        if response.status == .unauthorized, details.isEmpty, (try? await hasCredential()) == false {
            details = [RegistryErrorDetail(code: "UNAUTHORIZED", message: "no credentials configured for \(registry)")]
        }
        return error(kind, request, status: Int(response.status.code), details: details)
    }

    /// An error about `request` that has no response to quote.
    nonisolated func error(
        _ kind: RegistryError.Kind, _ request: RegistryRequest, status: Int? = nil, details: [RegistryErrorDetail] = []
    ) -> RegistryError {
        RegistryError(kind, registry: registry, repository: request.repository, operation: request.operation,
                      status: status, details: details)
    }

    /// The error for a connection that failed for good.
    nonisolated func transportFailure(_ error: any Error, _ request: RegistryRequest) -> any Error {
        if error is CancellationError || error is RegistryError || error is FileChunksError { return error }
        return self.error(.transport(Self.connectionProblem(error)), request)
    }

    /// What went wrong with a connection, in words: NIO's nested error descriptions bury the
    /// one fact a user needs (refused, timed out, reset, no such host) under type names.
    nonisolated static func connectionProblem(_ error: any Error) -> String {
        let text = String(describing: error)
        if let error = error as? HTTPClientError, error == .connectTimeout { return "no answer to the connection attempt in time" }
        let known: [(String, String)] = [
            ("Connection refused", "connection refused (is a registry listening there?)"),
            ("Connection reset", "connection reset by the registry"),
            ("Network is unreachable", "network unreachable"),
            ("No route to host", "no route to host"),
            ("connectTimeout", "no answer to the connection attempt in time"),
            ("NXDOMAIN", "no such host"),
            ("Name or service not known", "no such host"),
            ("remoteConnectionClosed", "the registry closed the connection"),
            ("readTimeout", "the registry stopped sending for too long"),
        ]
        for (needle, words) in known where text.localizedCaseInsensitiveContains(needle) { return words }
        return text
    }

    /// Reads and drops a small body so the connection can serve the next request.
    static func discard(_ response: HTTPClientResponse) async {
        _ = try? await response.body.collect(upTo: 1 << 16)
    }

    /// Whether a thrown error is worth another attempt: anything from the connection, but not
    /// cancellation or a request the client could not even form.
    nonisolated static func isTransient(_ error: any Error) -> Bool {
        if error is CancellationError || error is RegistryError || error is FileChunksError { return false }
        if let error = error as? HTTPClientError {
            let permanent: [HTTPClientError] = [
                .invalidURL, .emptyHost, .emptyScheme, .cancelled, .alreadyShutdown, .bodyLengthMismatch,
            ]
            return !permanent.contains(error) && !String(describing: error).contains("unsupportedScheme")
        }
        return true
    }

    /// 5xx (but 501, which will not change) and 429.
    nonisolated static func isTransient(_ status: HTTPResponseStatus) -> Bool {
        status == .tooManyRequests || (status.code >= 500 && status != .notImplemented)
    }

    /// `Location` values may be relative to the URL that sent them.
    nonisolated func resolve(_ location: String, against base: String) -> String {
        guard let baseURL = URL(string: base), let resolved = URL(string: location, relativeTo: baseURL) else {
            return location
        }
        return resolved.absoluteString
    }

    private nonisolated func timeout(for request: RegistryRequest) -> Duration {
        configuration.requestTimeout + .seconds(request.body.length / configuration.minimumUploadRate)
    }

    private nonisolated func makeHTTPRequest(_ request: RegistryRequest, url: String, authorization: String?) -> HTTPClientRequest {
        var httpRequest = HTTPClientRequest(url: url)
        httpRequest.method = request.method
        httpRequest.headers = request.headers
        httpRequest.headers.replaceOrAdd(name: "User-Agent", value: "kiln")
        if let authorization { httpRequest.headers.replaceOrAdd(name: "Authorization", value: authorization) }
        switch request.body {
        case .none:
            if request.method == .PUT || request.method == .POST || request.method == .PATCH {
                httpRequest.headers.replaceOrAdd(name: "Content-Length", value: "0")
            }
        case .bytes(let buffer):
            httpRequest.body = .bytes(buffer)
        case .file(let path, let offset, let length):
            httpRequest.body = .stream(FileChunks(path: path, offset: offset, length: length), length: .known(length))
        case .stream(let body, _):
            httpRequest.body = body()
        }
        return httpRequest
    }
}
