import Testing
import KilnStorage

@Suite struct KilnRootTests {
    @Test func kilnRootWins() {
        #expect(KilnRoot.fromEnvironment(["KILN_ROOT": "/r", "XDG_DATA_HOME": "/x"]).url.path == "/r")
    }

    @Test func xdgThenHome() {
        #expect(KilnRoot.fromEnvironment(["XDG_DATA_HOME": "/x"]).url.path == "/x/kiln")
        #expect(KilnRoot.fromEnvironment(["HOME": "/home/u"]).url.path == "/home/u/.local/share/kiln")
    }
}
