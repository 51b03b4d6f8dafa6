import Foundation
import KilnImage
import KilnOCI
import KilnStorage
import Testing

@Suite("layers from the content store and concurrent layout writers")
struct ContentStoreLayerTests {
    @Test("a layer ingested into the content store is exported from there, as a copy")
    func exportFromStore() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let built = try ImageFixtures.image(trees: [try scratch.makeTree("a")], in: scratch)
        let original = try #require(try built.layers().first as? FileLayer)
        let store = ContentStore(root: KilnRoot(url: scratch.path("root")))
        try await store.ingest(contentsOf: original.region.file, expected: original.descriptor.digest)

        let stored = try StoredLayer(store: store, descriptor: original.descriptor, diffID: original.diffID, usedBy: "the test layer")
        #expect(stored.file == store.path(for: original.descriptor.digest))
        let image = try AssembledImage(config: built.config(), layers: [stored])
        #expect(try image.digest() == built.digest())
        try OCILayoutWriter().write(image, to: scratch.path("layout"), refName: "stored")
        #expect(try OCILayout(at: scratch.path("layout")).image(reference: "stored").digest() == built.digest())
        // A copy, never a hard link: editing the layout must not reach the store.
        var inStore = stat(), inLayout = stat()
        stat(store.path(for: original.descriptor.digest).path, &inStore)
        stat(scratch.path("layout").appendingPathComponent("blobs/sha256/\(original.descriptor.digest.encoded)").path, &inLayout)
        #expect(inStore.st_ino != inLayout.st_ino)
        #expect(inStore.st_nlink == 1)

        // A descriptor whose size disagrees with the blob is refused; the blob (which hashes to
        // its name) stays.
        let wrongSize = Descriptor(mediaType: original.descriptor.mediaType, digest: original.descriptor.digest,
                                   size: original.descriptor.size + 1)
        #expect(throws: StorageError.self) {
            try StoredLayer(store: store, descriptor: wrongSize, diffID: original.diffID, usedBy: "the test layer")
        }
        #expect(store.exists(original.descriptor.digest))
    }

    @Test("writers adding different names to one layout at once keep every entry")
    func concurrentWriters() async throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let layout = scratch.path("layout")
        let seed = try ImageFixtures.image(trees: [try scratch.makeTree("seed")], in: scratch)
        try OCILayoutWriter().write(seed, to: layout, refName: "seed")
        let images = try (0..<6).map { index in
            try ImageFixtures.image(trees: [try scratch.makeTree("t\(index)", seed: "\(index)")], in: scratch, cmd: ["\(index)"])
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, image) in images.enumerated() {
                group.addTask { try OCILayoutWriter().write(image, to: layout, refName: "r\(index)") }
            }
            try await group.waitForAll()
        }
        let names = try OCILayout(at: layout).index().manifests.compactMap { $0.annotations[AnnotationKey.refName] }
        #expect(names.sorted() == ["r0", "r1", "r2", "r3", "r4", "r5", "seed"])
        #expect(scratch.entries("layout").filter { $0.hasPrefix(".") }.isEmpty)
    }
}
