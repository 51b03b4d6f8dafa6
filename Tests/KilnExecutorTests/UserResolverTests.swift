import KilnExecutor
import KilnTestSupport
import Testing

@Suite("USER resolution against /etc/passwd and /etc/group")
struct UserResolverTests {
    let resolver = UserResolver(passwd: "# comment\n" + BusyboxRootfs.passwd, group: BusyboxRootfs.group)

    @Test("empty means root with root's home")
    func root() throws {
        #expect(try resolver.resolve("") == ResolvedUser(uid: 0, gid: 0, additionalGids: [0], home: "/root"))
    }

    @Test("a name gets its passwd ids, home, its primary group and every group listing it, as Buildah and BuildKit")
    func name() throws {
        #expect(try resolver.resolve("app") == ResolvedUser(uid: 1000, gid: 1000, additionalGids: [1000, 50, 2000], home: "/home/app"))
    }

    @Test("a uid with an entry behaves like its name")
    func knownUid() throws {
        #expect(try resolver.resolve("1000") == resolver.resolve("app"))
    }

    @Test("a uid without an entry runs with gid 0 and group 0 only")
    func unknownUid() throws {
        #expect(try resolver.resolve("4242") == ResolvedUser(uid: 4242, gid: 0, additionalGids: [0]))
    }

    @Test("an explicit group replaces the primary group and drops member groups")
    func explicitGroup() throws {
        #expect(try resolver.resolve("app:staff") == ResolvedUser(uid: 1000, gid: 50, additionalGids: [50], home: "/home/app"))
        #expect(try resolver.resolve("1000:2000") == ResolvedUser(uid: 1000, gid: 2000, additionalGids: [2000], home: "/home/app"))
        #expect(try resolver.resolve("4242:4343") == ResolvedUser(uid: 4242, gid: 4343, additionalGids: [4343]))
    }

    @Test("unknown names fail with Docker's messages")
    func unknownNames() {
        #expect(throws: UserResolutionError.unknownUser("ghost")) { try resolver.resolve("ghost") }
        #expect(throws: UserResolutionError.unknownGroup("ghosts")) { try resolver.resolve("app:ghosts") }
        #expect(UserResolutionError.unknownUser("ghost").description
                == "unable to find user ghost: no matching entries in passwd file")
    }

    @Test("missing account files only allow numeric ids")
    func missingFiles() throws {
        let empty = UserResolver(passwd: "", group: "")
        #expect(try empty.resolve("") == ResolvedUser(uid: 0, gid: 0, additionalGids: [0]))
        #expect(try empty.resolve("0:0") == ResolvedUser(uid: 0, gid: 0, additionalGids: [0]))
        #expect(throws: UserResolutionError.unknownUser("app")) { try empty.resolve("app") }
    }
}
