import Foundation
import KilnOCI
import Testing
@testable import KilnStorage

@Suite struct ContentStoreTests {
    private struct ProducerFailed: Error {}

    private func leftovers(_ store: ContentStore) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: store.directory.path + "/ingest")) ?? []
    }

    @Test func ingestedBlobIsReadableUnderItsDigest() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let bytes = Data("hello, kiln".utf8)
            let digest = Digest.sha256(of: bytes)
            let stored = try await store.ingest(data: bytes, expected: digest)
            #expect(stored == StoredBlob(digest: digest, size: Int64(bytes.count)))
            #expect(store.exists(digest))
            #expect(store.size(of: digest) == Int64(bytes.count))
            #expect(store.path(for: digest).path == directory.path + "/blobs/sha256/" + digest.encoded)
            #expect(try Data(contentsOf: store.path(for: digest)) == bytes)
            try store.verifyBlob(digest, size: Int64(bytes.count), usedBy: "the test")
            #expect(leftovers(store) == [])
        }
    }

    @Test("a layer written straight into the ingest file is stored under the writer's digest: no copy, the writer's file becomes the blob")
    func ingestWritingFileStoresTheWrittenFile() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let bytes = Data("layer bytes".utf8)
            var inode: ino_t = 0
            let stored = try store.ingest(writingFile: { file in
                #expect(file.path.hasPrefix(store.directory.path + "/ingest/"))
                try bytes.write(to: file)
                var info = stat()
                _ = stat(file.path, &info)
                inode = info.st_ino
                return StoredBlob(digest: Digest.sha256(of: bytes), size: Int64(bytes.count))
            })
            #expect(stored == StoredBlob(digest: Digest.sha256(of: bytes), size: Int64(bytes.count)))
            var info = stat()
            #expect(stat(store.path(for: stored.digest).path, &info) == 0)
            #expect(info.st_ino == inode, "the blob is the file the writer wrote, not a copy of it")
            try store.verifyBlob(stored.digest, size: stored.size, usedBy: "the test")
            #expect(leftovers(store) == [])
        }
    }

    @Test("a writer that fails, or whose file is not the size it claims, leaves no blob and no temp file")
    func ingestWritingFileFailureLeavesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let bytes = Data("layer bytes".utf8)
            #expect(throws: ProducerFailed.self) {
                try store.ingest(writingFile: { file in
                    try bytes.write(to: file)
                    throw ProducerFailed()
                })
            }
            #expect(throws: StorageError.self) {
                try store.ingest(writingFile: { file in
                    try bytes.write(to: file)
                    return StoredBlob(digest: Digest.sha256(of: bytes), size: Int64(bytes.count) + 1)
                })
            }
            #expect(!store.exists(Digest.sha256(of: bytes)))
            #expect(leftovers(store) == [])
        }
    }

    @Test func ingestWithoutExpectedDigestStoresUnderTheComputedOne() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let stored = try await store.ingest { writer in
                try writer.write(Array("part one, ".utf8))
                try writer.write(Array("part two".utf8))
            }
            #expect(stored.digest == Digest.sha256(of: Array("part one, part two".utf8)))
            #expect(store.exists(stored.digest))
        }
    }

    @Test func ingestFromFileVerifiesSize() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory.appendingPathComponent("root")))
            let source = directory.appendingPathComponent("layer.tar")
            let bytes = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0) })
            try bytes.write(to: source)
            let stored = try await store.ingest(contentsOf: source, expected: Digest.sha256(of: bytes), size: Int64(bytes.count))
            #expect(stored.size == Int64(bytes.count))
            #expect(store.size(of: stored.digest) == Int64(bytes.count))
        }
    }

    @Test func digestMismatchStoresNothing() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let claimed = Digest.sha256(of: Array("other".utf8))
            await #expect(throws: StorageError.self) { try await store.ingest(data: Data("actual".utf8), expected: claimed) }
            #expect(!store.exists(claimed))
            #expect(!store.exists(Digest.sha256(of: Array("actual".utf8))))
            #expect(leftovers(store) == [])
        }
    }

    @Test(arguments: [Int64(3), Int64(100)])
    func sizeMismatchStoresNothing(claimedSize: Int64) async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let bytes = Array(repeating: UInt8(7), count: 10)
            await #expect(throws: StorageError.sizeMismatch(expected: claimedSize, actual: claimedSize == 3 ? 10 : 10)) {
                try await store.ingest(expected: Digest.sha256(of: bytes), size: claimedSize) { try $0.write(bytes) }
            }
            #expect(!store.exists(Digest.sha256(of: bytes)))
            #expect(leftovers(store) == [])
        }
    }

    @Test func failingProducerLeavesNoTempFile() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            await #expect(throws: ProducerFailed.self) {
                try await store.ingest { writer in
                    try writer.write(Array("half".utf8))
                    throw ProducerFailed()
                }
            }
            #expect(leftovers(store) == [])
            let blobs = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/blobs/sha256")
            #expect(blobs == [])
        }
    }

    @Test func cancelledIngestLeavesNoTempFile() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let task = Task {
                try await store.ingest { writer in
                    while true {
                        try writer.write(Array(repeating: UInt8(1), count: 4096))
                        await Task.yield()
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(50))
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(leftovers(store) == [])
        }
    }

    @Test func concurrentIngestsOfTheSameBlobAllSucceed() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let bytes = Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let digest = Digest.sha256(of: bytes)
            try await withThrowingTaskGroup(of: StoredBlob.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        // Without `expected`, nothing short-circuits: every writer races to rename.
                        try await store.ingest { try $0.write(bytes) }
                    }
                }
                for try await stored in group { #expect(stored.digest == digest) }
            }
            #expect(try Data(contentsOf: store.path(for: digest)) == bytes)
            #expect(leftovers(store) == [])
        }
    }

    @Test func presentBlobIsNotProducedAgain() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let bytes = Data("once".utf8)
            try await store.ingest(data: bytes)
            try await store.ingest(expected: Digest.sha256(of: bytes)) { _ in throw ProducerFailed() }
        }
    }

    @Test func deleteAndPrune() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            var digests: [Digest] = []
            for text in ["a", "b", "c", "d"] { digests.append(try await store.ingest(data: Data(text.utf8)).digest) }
            #expect(try store.delete(digests[0]))
            #expect(try !store.delete(digests[0]))
            // A crashed ingest's temp file goes too.
            _ = FileManager.default.createFile(atPath: store.directory.path + "/ingest/stale", contents: Data("x".utf8))
            let removed = try store.prune(keeping: [digests[1]])
            #expect(removed == [digests[2], digests[3]].sorted())
            #expect(store.exists(digests[1]))
            #expect(!store.exists(digests[2]) && !store.exists(digests[3]))
            #expect(leftovers(store) == [])
        }
    }
}
