import Foundation
import KilnArchive
import KilnOCI
import Testing
@testable import KilnStorage

/// The content store's one rule for reading blobs: bytes that do not hash to the blob's name,
/// or are not as many as its descriptor says, fail at the end of the read, name the blob and
/// what used it, and move it to quarantine so the store no longer claims it.
@Suite struct VerifyingBlobReaderTests {
    /// Ways a stored blob goes bad on disk.
    enum Damage: String, CaseIterable, Sendable {
        case flippedByte, truncated, extended, emptied

        func apply(to path: String, size: Int) throws {
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            switch self {
            case .flippedByte:
                try handle.seek(toOffset: UInt64(size / 2))
                let byte = try handle.read(upToCount: 1)![0]
                try handle.seek(toOffset: UInt64(size / 2))
                try handle.write(contentsOf: Data([byte ^ 0x01]))
            case .truncated:
                try handle.truncate(atOffset: UInt64(size - 1))
            case .extended:
                try handle.seekToEnd()
                try handle.write(contentsOf: Data([0]))
            case .emptied:
                try handle.truncate(atOffset: 0)
            }
        }
    }

    /// Reads the whole blob through the verifying reader; returns the bytes read.
    private func readAll(_ reader: VerifyingBlobReader) throws -> Data {
        var data = Data()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try reader.read(into: buffer)
            if count == 0 { return data }
            data.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    private func quarantined(_ store: ContentStore) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: store.quarantineDirectory.path)) ?? []
    }

    @Test func anIntactBlobReadsWhole() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let bytes = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
            let blob = try await store.ingest(data: bytes)
            let reader = try store.openVerified(blob.digest, size: blob.size, usedBy: "a test layer")
            #expect(try readAll(reader) == bytes)
            #expect(store.exists(blob.digest))
            #expect(quarantined(store).isEmpty)
        }
    }

    @Test(arguments: Damage.allCases)
    func aDamagedBlobFailsAtTheEndNamedAndQuarantined(_ damage: Damage) async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let bytes = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 13) })
            let blob = try await store.ingest(data: bytes)
            try damage.apply(to: store.path(for: blob.digest).path, size: bytes.count)
            let reader = try store.openVerified(blob.digest, size: blob.size, usedBy: "layer 2, made by step #3 RUN make")
            #expect {
                _ = try readAll(reader)
            } throws: { error in
                guard case StorageError.corruptBlob(let digest, _, let expectedSize, _, let usedBy, let quarantinedAs) = error
                else { return false }
                let text = "\(error)"
                return digest == blob.digest && expectedSize == blob.size && usedBy.contains("step #3")
                    && quarantinedAs != nil && text.contains(blob.digest.description) && text.contains("step #3 RUN make")
            }
            // The store no longer claims the blob; quarantine holds the damaged bytes.
            #expect(!store.exists(blob.digest))
            #expect(quarantined(store).count == 1)
            #expect(quarantined(store).first?.hasPrefix(blob.digest.encoded) == true)
            // Ingesting the right bytes again brings it back.
            try await store.ingest(data: bytes, expected: blob.digest)
            #expect(try readAll(try store.openVerified(blob.digest, size: blob.size, usedBy: "again")) == bytes)
        }
    }

    @Test func aFailureWhileUsingACorruptBlobIsReportedAsTheCorruption() async throws {
        struct DecoderGaveUp: Error {}
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let bytes = Data(repeating: 0x5a, count: 50_000)
            let blob = try await store.ingest(data: bytes)
            try Damage.flippedByte.apply(to: store.path(for: blob.digest).path, size: bytes.count)
            #expect {
                try store.readingVerified(blob.digest, size: blob.size, usedBy: "the image") { reader in
                    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 100, alignment: 16)
                    defer { buffer.deallocate() }
                    _ = try reader.read(into: buffer)
                    throw DecoderGaveUp()
                }
            } throws: { error in
                if case StorageError.corruptBlob(let digest, _, _, _, _, _) = error { return digest == blob.digest }
                return false
            }
            #expect(!store.exists(blob.digest))
        }
    }

    @Test func aFailureWhileUsingAnIntactBlobIsThatFailure() async throws {
        struct DecoderGaveUp: Error {}
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let blob = try await store.ingest(data: Data(repeating: 1, count: 10_000))
            #expect(throws: DecoderGaveUp.self) {
                try store.readingVerified(blob.digest, size: blob.size, usedBy: "the image") { _ in throw DecoderGaveUp() }
            }
            #expect(store.exists(blob.digest))
            #expect(quarantined(store).isEmpty)
        }
    }

    @Test func aCorruptGzipLayerIsNamedWhenUnpacked() async throws {
        try await withTemporaryDirectory { directory in
            let store = ContentStore(root: KilnRoot(url: directory))
            let tree = directory.appendingPathComponent("tree")
            try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
            var noise = SystemRandomNumberGenerator()
            try Data((0..<200_000).map { _ in UInt8.random(in: 0...255, using: &noise) })
                .write(to: tree.appendingPathComponent("random"))
            let layerFile = directory.appendingPathComponent("layer.tar.gz")
            let written = try LayerWriter(compression: .gzip()).write(directory: tree, to: layerFile)
            try await store.ingest(contentsOf: layerFile, expected: written.digest)
            try Damage.flippedByte.apply(to: store.path(for: written.digest).path, size: Int(written.size))
            let target = directory.appendingPathComponent("unpacked")
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            #expect {
                _ = try store.applyLayer(written.digest, to: target, usedBy: "layer 1 of the test image")
            } throws: { error in
                guard case StorageError.corruptBlob(let digest, _, _, _, _, _) = error else { return false }
                return digest == written.digest && "\(error)".contains("layer 1 of the test image")
            }
            #expect(!store.exists(written.digest))
        }
    }
}
