import AsyncHTTPClient
import Foundation
import KilnOCI
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// What a manifest is addressed by: a tag, or a digest (which pins its exact bytes).
public enum ManifestReference: Sendable, Hashable, CustomStringConvertible {
    /// A mutable tag.
    case tag(String)
    /// An immutable digest.
    case digest(Digest)

    /// The reference's digest when it has one, else its tag (`latest` when it has neither).
    public init(_ reference: Reference) {
        if let digest = reference.digest { self = .digest(digest) } else { self = .tag(reference.tag ?? Reference.defaultTag) }
    }

    /// The path component: the tag or the digest string.
    public var description: String {
        switch self {
        case .tag(let tag): return tag
        case .digest(let digest): return digest.description
        }
    }
}

/// A manifest or index as the registry served it: exact bytes, media type, and digest.
public struct FetchedManifest: Sendable, Hashable {
    /// The exact bytes; their digest is ``digest``.
    public var bytes: Data
    /// The `Content-Type` the registry sent, else the document's own `mediaType`.
    public var mediaType: MediaType
    /// sha256 of ``bytes``.
    public var digest: Digest

    /// A descriptor of these bytes.
    public var descriptor: Descriptor { Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count)) }

    /// Whether this is an index (OCI image index or Docker manifest list).
    public var isIndex: Bool { mediaType.isIndex }

    /// Decodes the bytes as an image manifest.
    public func manifest() throws -> Manifest { try CanonicalJSON.decode(Manifest.self, from: bytes) }

    /// Decodes the bytes as an index.
    public func index() throws -> Index { try CanonicalJSON.decode(Index.self, from: bytes) }
}

extension RegistryClient {
    /// Every manifest type Kiln reads, in the `Accept` header of manifest requests.
    public static let acceptedManifestTypes: [MediaType] = [.ociManifest, .ociIndex, .dockerManifest, .dockerManifestList]

    /// Fetches the manifest or index `reference` of `repository`. Fetching by digest checks the
    /// bytes against it; fetching by tag checks them against the registry's `Docker-Content-Digest`.
    public nonisolated func fetchManifest(_ reference: ManifestReference, in repository: String) async throws -> FetchedManifest {
        let request = manifestRequest(.GET, reference, repository: repository, operation: .fetchManifest)
        let response = try await send(request)
        try await expect(response, [.ok], for: request)
        let limit = configuration.maximumManifestSize
        let body: ByteBuffer
        do { body = try await response.body.collect(upTo: limit) } catch let failure as NIOTooManyBytesError {
            _ = failure
            throw error(.invalidResponse("manifest larger than \(limit) bytes"), request, status: 200)
        } catch {
            throw transportFailure(error, request)
        }
        let bytes = Data(buffer: body)
        let digest = Digest.sha256(of: bytes)
        let expected: Digest?
        switch reference {
        case .digest(let pinned): expected = pinned
        case .tag: expected = response.headers.first(name: "Docker-Content-Digest").flatMap { Digest($0) }
        }
        if let expected, expected.algorithm == "sha256", expected != digest {
            throw error(.digestMismatch(expected: expected, actual: digest), request, status: 200)
        }
        if let expected, expected.algorithm != "sha256" {
            throw error(.invalidResponse("cannot verify \(expected.algorithm) digests"), request, status: 200)
        }
        let mediaType = Self.contentType(response.headers) ?? Self.embeddedMediaType(bytes)
        guard let mediaType else { throw error(.invalidResponse("manifest has no media type"), request, status: 200) }
        return FetchedManifest(bytes: bytes, mediaType: mediaType, digest: digest)
    }

    /// Fetches the image manifest of `reference` for `platform`: through the index when the
    /// reference names one. Returns the manifest and, when there was one, the index.
    public nonisolated func fetchImageManifest(
        _ reference: ManifestReference, in repository: String, platform: Platform = .host
    ) async throws -> (manifest: FetchedManifest, index: FetchedManifest?) {
        let top = try await fetchManifest(reference, in: repository)
        guard top.isIndex else { return (top, nil) }
        let request = manifestRequest(.GET, reference, repository: repository, operation: .fetchManifest)
        let index: Index
        do { index = try top.index() } catch {
            throw self.error(.invalidResponse("index does not decode: \(error)"), request)
        }
        guard let chosen = index.manifest(for: platform) else {
            let available = index.manifests.compactMap { $0.platform?.description }.joined(separator: ", ")
            throw self.error(.invalidResponse("no manifest for \(platform) in index (has: \(available))"), request)
        }
        let manifest = try await fetchManifest(.digest(chosen.digest), in: repository)
        return (manifest, top)
    }

    /// The descriptor of manifest `reference` (`HEAD`), or nil when the registry does not have it.
    /// A cache lookup is one such request.
    public nonisolated func manifestDescriptor(_ reference: ManifestReference, in repository: String) async throws -> Descriptor? {
        let request = manifestRequest(.HEAD, reference, repository: repository, operation: .manifestExists)
        let response = try await send(request)
        if response.status == .notFound { return nil }
        try await expect(response, [.ok], for: request)
        let digest: Digest
        if case .digest(let pinned) = reference {
            digest = pinned
        } else if let header = response.headers.first(name: "Docker-Content-Digest"), let parsed = Digest(header) {
            digest = parsed
        } else {
            // Without the header the digest needs the bytes.
            return try await fetchManifest(reference, in: repository).descriptor
        }
        guard let mediaType = Self.contentType(response.headers),
              let size = response.headers.first(name: "Content-Length").flatMap(Int64.init)
        else { return try await fetchManifest(reference, in: repository).descriptor }
        return Descriptor(mediaType: mediaType, digest: digest, size: size)
    }

    /// Uploads a manifest or index under `reference` (a tag, or its own digest). Returns the
    /// digest of `bytes`, checked against the one the registry reports.
    @discardableResult
    public nonisolated func pushManifest(
        _ bytes: Data, mediaType: MediaType, to reference: ManifestReference, in repository: String
    ) async throws -> Digest {
        var request = manifestRequest(.PUT, reference, repository: repository, operation: .pushManifest)
        request.headers.remove(name: "Accept")
        request.headers.add(name: "Content-Type", value: mediaType.rawValue)
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let response = try await send(request)
        try await expect(response, [.created, .ok, .accepted], for: request)
        await Self.discard(response)
        let digest = Digest.sha256(of: bytes)
        if let reported = response.headers.first(name: "Docker-Content-Digest").flatMap({ Digest($0) }),
           reported.algorithm == "sha256", reported != digest {
            throw error(.digestMismatch(expected: digest, actual: reported), request, status: Int(response.status.code))
        }
        return digest
    }

    /// Encodes `manifest` canonically and pushes it. Returns its descriptor.
    @discardableResult
    public nonisolated func pushManifest(_ manifest: Manifest, to reference: ManifestReference, in repository: String) async throws -> Descriptor {
        let blob = try CanonicalJSON.blob(manifest)
        let mediaType = manifest.mediaType ?? .ociManifest
        try await pushManifest(blob.bytes, mediaType: mediaType, to: reference, in: repository)
        return blob.descriptor(mediaType: mediaType)
    }

    /// Deletes the manifest `digest` of `repository` (the registry must allow deletes).
    public nonisolated func deleteManifest(_ digest: Digest, in repository: String) async throws {
        let request = manifestRequest(.DELETE, .digest(digest), repository: repository, operation: .deleteManifest)
        let response = try await send(request)
        try await expect(response, [.accepted, .ok, .noContent], for: request)
        await Self.discard(response)
    }

    /// Every tag of `repository`, following `Link` pagination; `pageSize` asks for pages of that many (`n=`).
    public nonisolated func listTags(in repository: String, pageSize: Int? = nil) async throws -> [String] {
        var next: String? = url(repository, "tags/list") + (pageSize.map { "?n=\($0)" } ?? "")
        var tags: [String] = []
        var pages = 0
        while let page = next {
            pages += 1
            let request = RegistryRequest(
                method: .GET, url: page, operation: .listTags, repository: repository, scopes: [AuthScope.pull(repository)])
            guard pages <= 100_000 else { throw error(.invalidResponse("tag pagination does not end"), request) }
            let response = try await send(request)
            try await expect(response, [.ok], for: request)
            struct TagList: Decodable { var tags: [String]? }
            let body: ByteBuffer
            do { body = try await response.body.collect(upTo: 16 << 20) } catch { throw transportFailure(error, request) }
            guard let list = try? JSONDecoder().decode(TagList.self, from: body) else {
                throw error(.invalidResponse("tag list does not decode"), request, status: 200)
            }
            tags += list.tags ?? []
            next = Self.nextLink(response.headers.first(name: "Link")).map { resolve($0, against: page) }
        }
        return tags
    }

    /// The target of a `Link: <url>; rel="next"` header.
    nonisolated static func nextLink(_ header: String?) -> String? {
        guard let header else { return nil }
        for link in header.split(separator: ",") {
            let parts = link.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let target = parts.first, target.hasPrefix("<"), target.hasSuffix(">"),
                  parts.dropFirst().contains(where: { $0.replacingOccurrences(of: "\"", with: "") == "rel=next" })
            else { continue }
            return String(target.dropFirst().dropLast())
        }
        return nil
    }

    private nonisolated func manifestRequest(
        _ method: HTTPMethod, _ reference: ManifestReference, repository: String, operation: RegistryOperation
    ) -> RegistryRequest {
        let scope = method == .PUT ? AuthScope.push(repository) : method == .DELETE ? AuthScope.delete(repository) : AuthScope.pull(repository)
        var request = RegistryRequest(
            method: method, url: url(repository, "manifests/\(reference)"), operation: operation, repository: repository,
            scopes: [scope])
        request.headers.add(name: "Accept", value: Self.acceptedManifestTypes.map(\.rawValue).joined(separator: ", "))
        return request
    }

    /// The media type of a `Content-Type` header, parameters dropped; nil for generic JSON.
    private nonisolated static func contentType(_ headers: HTTPHeaders) -> MediaType? {
        guard let value = headers.first(name: "Content-Type")?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces), !value.isEmpty,
              value != "application/json", value != "text/plain", value != "application/octet-stream"
        else { return nil }
        return MediaType(rawValue: value)
    }

    /// The `mediaType` field inside a manifest, for registries that serve generic JSON.
    private nonisolated static func embeddedMediaType(_ bytes: Data) -> MediaType? {
        struct Probe: Decodable { var mediaType: MediaType?; var manifests: [Descriptor]? }
        guard let probe = try? JSONDecoder().decode(Probe.self, from: bytes) else { return nil }
        return probe.mediaType ?? (probe.manifests != nil ? .ociIndex : .ociManifest)
    }
}
