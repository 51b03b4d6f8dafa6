import Foundation
import Glibc
import KilnOCI
import KilnRegistry
import KilnStorage
import KilnConcurrency

/// A place cache mount states are kept between machines: a registry cache.
///
/// A state is content-addressed: each file's bytes are one blob named by their digest
/// (shared by every id, service and build that has the same file, so an export uploads only
/// what the registry lacks and an import downloads only what the machine lacks), and the
/// ``CacheMountIndex`` listing the files is one more blob. The tag of the id points at an
/// OCI index whose manifests list every blob the state needs (at most
/// ``RegistryCacheBackend/blobsPerManifest`` each, since registries need only accept
/// manifests up to 4 MiB), so the registry's garbage collector keeps them all. The tag is
/// written last: a reader sees one exporter's complete state or the one before it.
public protocol CacheMountRemote: Sendable {
    /// A short name for logs and the sync record.
    var name: String { get }
    /// The newest state of cache `id` and its index digest; nil when there is none. When it is
    /// still `known` (read earlier in the build), that is returned without reading it again.
    func fetchMountState(_ id: String, known: (index: CacheMountIndex, digest: Digest)?) async throws
        -> (index: CacheMountIndex, digest: Digest)?
    /// Downloads a file blob to a new file at `file`, verified.
    func fetchMountBlob(_ blob: Descriptor, to file: URL) async throws
    /// Makes `index` the newest state of its id. Blobs in `present` are known to be there;
    /// the others are uploaded unless the registry has them, their content read from the
    /// descriptor `open` returns (closed here). Returns the index digest.
    func storeMountState(_ index: CacheMountIndex, present: Set<Digest>,
                         open: @escaping @Sendable (Digest) throws -> Int32) async throws -> Digest
}

extension RegistryCacheBackend: CacheMountRemote {
    /// The artifact type of a cache mount state's manifests and index.
    public static let mountArtifactType: MediaType = "application/vnd.kiln.cache.mount.v1"
    /// The annotation of the index naming the index blob.
    static let mountIndexAnnotation = "dev.kiln.cache.mount.index"
    /// The annotation of the index naming the cache id.
    static let mountIDAnnotation = "dev.kiln.cache.mount.id"
    /// Blobs one manifest lists (about 0.7 MB of JSON).
    public static let blobsPerManifest = 4000

    /// The tag of cache `id`'s state: `kiln-mount-<32 hex>`.
    public static func mountTag(_ id: String) -> String {
        "kiln-mount-" + Digest.sha256(of: Data(id.utf8)).encoded.prefix(32)
    }

    public func fetchMountState(_ id: String, known: (index: CacheMountIndex, digest: Digest)?) async throws
        -> (index: CacheMountIndex, digest: Digest)? {
        let fetched: FetchedManifest
        do {
            fetched = try await client.fetchManifest(.tag(Self.mountTag(id)), in: repository)
        } catch let error as RegistryError where error.kind == .notFound {
            return nil
        }
        let index = try fetched.index()
        guard index.artifactType == Self.mountArtifactType, index.annotations[Self.mountIDAnnotation] == id,
              let digestText = index.annotations[Self.mountIndexAnnotation], let digest = Digest(digestText),
              let first = index.manifests.first
        else { return nil }
        if let known, known.digest == digest { return known }
        let manifest = try await client.fetchManifest(.digest(first.digest), in: repository).manifest()
        guard manifest.config.digest == digest else { return nil }
        let data = try await client.fetchBlobData(digest, size: manifest.config.size, from: repository, limit: 256 << 20)
        let state = try CacheMountIndex.decode(data)
        guard state.id == id else { return nil }
        return (state, digest)
    }

    public func fetchMountBlob(_ blob: Descriptor, to file: URL) async throws {
        try await client.fetchBlob(blob.digest, size: blob.size, from: repository, to: file)
    }

    public func storeMountState(_ index: CacheMountIndex, present: Set<Digest>,
                                open: @escaping @Sendable (Digest) throws -> Int32) async throws -> Digest {
        let blobs = index.blobs
        let client = client
        let repository = repository
        try await forEachConcurrently(blobs.filter { !present.contains($0.digest) }, limit: parallelism) { blob in
            let fd = try open(blob.digest)
            defer { close(fd) }
            // The descriptor, not a path: nothing can swap the file for a link meanwhile.
            try await client.pushBlob(file: URL(fileURLWithPath: "/proc/self/fd/\(fd)"), digest: blob.digest,
                                      size: blob.size, to: repository)
        }
        let indexBlob = try await client.pushBlob(data: try index.encoded(), to: repository)
        let config = indexBlob.descriptor(mediaType: CacheMountIndex.mediaType)
        var chunks = stride(from: 0, to: blobs.count, by: Self.blobsPerManifest).map {
            Array(blobs[$0..<min($0 + Self.blobsPerManifest, blobs.count)])
        }
        if chunks.isEmpty {
            let empty = try await client.pushBlob(data: Data("{}".utf8), to: repository)
            chunks = [[empty.descriptor(mediaType: .ociEmpty)]]
        }
        var manifests: [Descriptor] = []
        for chunk in chunks {
            let manifest = Manifest(config: config, layers: chunk, artifactType: Self.mountArtifactType)
            let descriptor = try CanonicalJSON.blob(manifest).descriptor(mediaType: .ociManifest)
            try await client.pushManifest(manifest, to: .digest(descriptor.digest), in: repository)
            manifests.append(descriptor)
        }
        let head = Index(manifests: manifests, artifactType: Self.mountArtifactType, annotations: [
            Self.mountIDAnnotation: index.id,
            Self.mountIndexAnnotation: indexBlob.digest.description,
            AnnotationKey.created: index.created,
        ])
        let bytes = try CanonicalJSON.blob(head).bytes
        try await client.pushManifest(bytes, mediaType: .ociIndex, to: .tag(Self.mountTag(index.id)), in: repository)
        return indexBlob.digest
    }
}

/// What pruning a registry cache's cache mount states did.
public struct CacheMountPruneReport: Sendable {
    /// States deleted for their age.
    public var deleted = 0
    /// States over the size cap replaced by a smaller generation.
    public var capped = 0
    /// States that were due for deletion but the registry refuses deletes (HTTP 405 or
    /// `UNSUPPORTED`): they stay, and imports still keep within the cap.
    public var undeletable = 0
}

extension RegistryCacheBackend {
    /// Deletes the cache mount states last exported before `cutoff` (their index and
    /// manifests; the registry's garbage collector reclaims the blobs no manifest uses) and
    /// replaces each state whose files exceed `maximumSize` by a new generation holding the
    /// most recently modified files within it (which needs no delete). A registry that
    /// refuses deletes is counted in ``CacheMountPruneReport/undeletable``, not an error.
    public func pruneMounts(createdBefore cutoff: Date, maximumSize: Int64?) async throws -> CacheMountPruneReport {
        var report = CacheMountPruneReport()
        for tag in try await client.listTags(in: repository) where tag.hasPrefix("kiln-mount-") {
            let fetched: FetchedManifest
            do {
                fetched = try await client.fetchManifest(.tag(tag), in: repository)
            } catch let error as RegistryError where error.kind == .notFound {
                continue
            }
            guard let head = try? fetched.index(), head.artifactType == Self.mountArtifactType,
                  let id = head.annotations[Self.mountIDAnnotation]
            else { continue }
            let created = head.annotations[AnnotationKey.created].flatMap { ISO8601DateFormatter().date(from: $0) } ?? .distantPast
            if created < cutoff {
                do {
                    try await client.deleteManifest(fetched.descriptor.digest, in: repository)
                    for part in head.manifests { try? await client.deleteManifest(part.digest, in: repository) }
                    report.deleted += 1
                } catch let error as RegistryError where error.refusesDeletes {
                    report.undeletable += 1
                }
                continue
            }
            guard let maximumSize, let (state, _) = try await fetchMountState(id, known: nil), state.contentSize > maximumSize
            else { continue }
            var smaller = state.capped(at: maximumSize)
            smaller.generation += 1
            _ = try await storeMountState(smaller, present: Set(state.blobs.map(\.digest))) { digest in
                throw CacheError.missingBlob(digest)
            }
            report.capped += 1
        }
        return report
    }
}
