import Testing
import KilnArchive

@Suite struct LayerChangeTests {
    @Test func pathOfEveryKind() {
        #expect(LayerChange.write(path: "a/b").path == "a/b")
        #expect(LayerChange.delete(path: "c").path == "c")
        #expect(LayerChange.opaque(directory: "d").path == "d")
    }
}
