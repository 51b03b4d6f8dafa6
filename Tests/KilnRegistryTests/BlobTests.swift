import Foundation
import KilnOCI
import KilnRegistry
import KilnTestSupport
import NIOCore
import Testing

@Suite("Blobs against a real registry", .enabled(if: TestRegistry.isAvailable, "docker-registry is not installed"))
struct BlobTests {
    @Test("A small blob uploads in one PUT and reads back verified")
    func monolithicRoundTrip() async throws {
        try await withTestRegistry { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let client = RegistryTestFixtures.client(registry)
                let blob = try RegistryTestFixtures.randomBlob(size: 300_000, in: directory)
                #expect(try await client.blobSize(blob.digest, in: "kiln/small") == nil)
                let result = try await client.pushBlob(file: blob.url, digest: blob.digest, size: blob.size, to: "kiln/small")
                #expect(result == .uploaded)
                #expect(registry.requestCount("PATCH", path: "/blobs/uploads/") == 0)
                #expect(try await client.blobSize(blob.digest, in: "kiln/small") == blob.size)

                let copy = directory.appendingPathComponent("copy")
                let count = try await client.fetchBlob(blob.digest, size: blob.size, from: "kiln/small", to: copy)
                #expect(count == blob.size)
                #expect(try Data(contentsOf: copy) == Data(contentsOf: blob.url))

                let again = try await client.pushBlob(file: blob.url, digest: blob.digest, size: blob.size, to: "kiln/small")
                #expect(again == .alreadyPresent)
            }
        }
    }

    @Test("A multi-MB blob uploads in PATCH chunks and streams back into a sink")
    func chunkedRoundTrip() async throws {
        try await withTestRegistry { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let client = RegistryTestFixtures.client(registry, monolithicLimit: 1 << 20, chunkSize: 1 << 20)
                let blob = try RegistryTestFixtures.randomBlob(size: 5 << 20 | 12_345, in: directory)
                let result = try await client.pushBlob(file: blob.url, digest: blob.digest, size: blob.size, to: "kiln/large")
                #expect(result == .uploaded)
                #expect(registry.requestCount("PATCH", path: "/blobs/uploads/") == 6)
                #expect(try await client.blobSize(blob.digest, in: "kiln/large") == blob.size)

                var hasher = DigestHasher()
                let count = try await client.fetchBlob(blob.digest, size: blob.size, from: "kiln/large") { chunk in
                    chunk.withUnsafeReadableBytes { hasher.update($0) }
                }
                #expect(count == blob.size)
                #expect(hasher.finalize() == blob.digest)
            }
        }
    }

    @Test("In-memory blobs push once and fetch as data")
    func dataBlobs() async throws {
        try await withTestRegistry { registry in
            let client = RegistryTestFixtures.client(registry)
            let bytes = Data("{\"architecture\":\"amd64\"}".utf8)
            let pushed = try await client.pushBlob(data: bytes, to: "kiln/data")
            #expect(pushed.digest == Digest.sha256(of: bytes))
            let fetched = try await client.fetchBlobData(pushed.digest, size: pushed.size, from: "kiln/data")
            #expect(fetched == bytes)
            try await client.pushBlob(data: bytes, to: "kiln/data")
            #expect(registry.requestCount("POST", path: "/blobs/uploads/") == 1)
        }
    }

    @Test("A cross-repository mount links the blob without uploading it")
    func mount() async throws {
        try await withTestRegistry { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let client = RegistryTestFixtures.client(registry)
                let blob = try RegistryTestFixtures.randomBlob(size: 200_000, in: directory)
                try await client.pushBlob(file: blob.url, digest: blob.digest, size: blob.size, to: "kiln/source")
                let uploads = registry.requestCount("PUT", path: "/blobs/uploads/")

                let result = try await client.pushBlob(
                    file: blob.url, digest: blob.digest, size: blob.size, to: "kiln/target", mountSources: ["kiln/source"])
                #expect(result == .mounted(from: "kiln/source"))
                #expect(registry.requestCount("PUT", path: "/blobs/uploads/") == uploads)
                #expect(try await client.blobSize(blob.digest, in: "kiln/target") == blob.size)
                #expect(try await client.mountBlob(blob.digest, from: "kiln/source", to: "kiln/third"))
            }
        }
    }

    @Test("A mount the registry declines (202) falls back to uploading in the session it opened")
    func mountFallsBackToUpload() async throws {
        try await withTestRegistry { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let client = RegistryTestFixtures.client(registry)
                let blob = try RegistryTestFixtures.randomBlob(size: 100_000, in: directory)
                #expect(try await client.mountBlob(blob.digest, from: "kiln/empty", to: "kiln/target") == false)
                let result = try await client.pushBlob(
                    file: blob.url, digest: blob.digest, size: blob.size, to: "kiln/target",
                    mountSources: ["kiln/empty", "kiln/also-empty"])
                #expect(result == .uploaded)
                // Two mount attempts opened sessions; the last one carried the upload, so no plain POST.
                #expect(registry.requestCount("POST", path: "/blobs/uploads/?mount=") == 3)
                #expect(registry.requestCount("POST", path: "/blobs/uploads/ ") == 0)
                #expect(try await client.blobSize(blob.digest, in: "kiln/target") == blob.size)
            }
        }
    }

    @Test("A served blob whose bytes do not match its digest is rejected and the partial file removed")
    func fetchDetectsCorruption() async throws {
        try await withTestRegistry { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let client = RegistryTestFixtures.client(registry)
                let blob = try RegistryTestFixtures.randomBlob(size: 400_000, in: directory)
                try await client.pushBlob(file: blob.url, digest: blob.digest, size: blob.size, to: "kiln/corrupt")
                // Flip one byte in the registry's storage: it serves what it has without re-hashing.
                let stored = RegistryTestFixtures.storedBlobData(registry, blob.digest)
                var bytes = try Data(contentsOf: stored)
                bytes[1000] ^= 0xff
                try bytes.write(to: stored)

                let destination = directory.appendingPathComponent("download")
                let error = await #expect(throws: RegistryError.self) {
                    try await client.fetchBlob(blob.digest, size: blob.size, from: "kiln/corrupt", to: destination)
                }
                guard case .digestMismatch(let expected, let actual)? = error?.kind else {
                    Issue.record("expected a digest mismatch, got \(String(describing: error))")
                    return
                }
                #expect(expected == blob.digest)
                #expect(actual == Digest.sha256(of: bytes))
                #expect(error?.operation == .fetchBlob)
                #expect(!FileManager.default.fileExists(atPath: destination.path))
            }
        }
    }

    @Test("A size that disagrees with the blob is an error, and a handle is truncated back")
    func fetchDetectsWrongSize() async throws {
        try await withTestRegistry { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let client = RegistryTestFixtures.client(registry)
                let blob = try RegistryTestFixtures.randomBlob(size: 50_000, in: directory)
                try await client.pushBlob(file: blob.url, digest: blob.digest, size: blob.size, to: "kiln/size")
                let target = directory.appendingPathComponent("target")
                try Data("prefix".utf8).write(to: target)
                let handle = try FileHandle(forWritingTo: target)
                try handle.seekToEnd()
                let error = await #expect(throws: RegistryError.self) {
                    try await client.fetchBlob(blob.digest, size: blob.size - 1, from: "kiln/size", to: handle)
                }
                try handle.close()
                #expect(error?.kind == .sizeMismatch(expected: blob.size - 1, actual: blob.size))
                #expect(try Data(contentsOf: target) == Data("prefix".utf8))
            }
        }
    }

    @Test("Uploading bytes under the wrong digest fails with the registry's DIGEST_INVALID")
    func pushDetectsWrongDigest() async throws {
        try await withTestRegistry { registry in
            try await RegistryTestFixtures.withTemporaryDirectory { directory in
                let client = RegistryTestFixtures.client(registry)
                let blob = try RegistryTestFixtures.randomBlob(size: 10_000, in: directory)
                let wrong = Digest.sha256(of: Data("something else".utf8))
                let error = await #expect(throws: RegistryError.self) {
                    try await client.pushBlob(file: blob.url, digest: wrong, size: blob.size, to: "kiln/wrong")
                }
                #expect(error?.status == 400)
                #expect(error?.details.map(\.code) == ["DIGEST_INVALID"])
                #expect(error?.description.contains("\(registry.host)/kiln/wrong: push blob failed") == true)
                #expect(try await client.blobSize(wrong, in: "kiln/wrong") == nil)
            }
        }
    }

    @Test("Deleting a blob makes it unknown; fetching an unknown blob names BLOB_UNKNOWN")
    func deleteBlob() async throws {
        try await withTestRegistry { registry in
            let client = RegistryTestFixtures.client(registry)
            let blob = try await client.pushBlob(data: Data(repeating: 7, count: 1000), to: "kiln/delete")
            try await client.deleteBlob(blob.digest, from: "kiln/delete")
            #expect(try await client.blobSize(blob.digest, in: "kiln/delete") == nil)
            let error = await #expect(throws: RegistryError.self) {
                try await client.fetchBlobData(blob.digest, size: nil, from: "kiln/delete")
            }
            #expect(error?.kind == .notFound)
            #expect(error?.details.first?.code == "BLOB_UNKNOWN")
        }
    }
}
