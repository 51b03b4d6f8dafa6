import Foundation
import KilnRegistry
import Testing

@Suite("Docker config.json credentials")
struct DockerConfigTests {
    @Test("auths entries: base64 auth, split username/password, identity token, Hub aliases")
    func authsEntries() async throws {
        let json = """
            {
              "auths": {
                "registry.example": {"auth": "\(Data("alice:pa:ss".utf8).base64EncodedString())"},
                "https://split.example/": {"username": "bob", "password": "pw"},
                "tokens.example": {"identitytoken": "refresh-me"},
                "https://index.docker.io/v1/": {"auth": "\(Data("hub:hubpw".utf8).base64EncodedString())"},
                "helper-only.example": {}
              },
              "proxies": {"default": {}}
            }
            """
        let config = try DockerConfig(data: Data(json.utf8), helperSearchPath: [])
        #expect(try await config.credential(for: "registry.example") == RegistryCredential(username: "alice", password: "pa:ss"))
        #expect(try await config.credential(for: "split.example") == RegistryCredential(username: "bob", password: "pw"))
        #expect(try await config.credential(for: "tokens.example") == RegistryCredential(identityToken: "refresh-me"))
        #expect(try await config.credential(for: "docker.io") == RegistryCredential(username: "hub", password: "hubpw"))
        #expect(try await config.credential(for: "helper-only.example") == nil)
        #expect(try await config.credential(for: "unknown.example") == nil)
    }

    @Test("A malformed auth value is an error naming the registry")
    func malformedAuth() async throws {
        let config = try DockerConfig(data: Data(#"{"auths": {"bad.example": {"auth": "!!!"}}}"#.utf8), helperSearchPath: [])
        await #expect(throws: DockerConfigError.malformedAuth(registry: "bad.example")) {
            try await config.credential(for: "bad.example")
        }
    }

    @Test("credHelpers and credsStore run docker-credential-<name> get with the server on stdin")
    func helpers() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-helpers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try writeHelper("per-host", in: directory, body: #"""
            read server
            echo "{\"ServerURL\":\"$server\",\"Username\":\"helper-user\",\"Secret\":\"for-$server\"}"
            """#)
        try writeHelper("store", in: directory, body: #"""
            read server
            case "$server" in
              known.example) echo '{"Username":"<token>","Secret":"identity"}' ;;
              https://index.docker.io/v1/) echo '{"Username":"hubuser","Secret":"hubsecret"}' ;;
              broken.example) echo "backend exploded" >&2; exit 3 ;;
              *) echo "credentials not found in native keychain"; exit 1 ;;
            esac
            """#)
        let json = #"{"credsStore": "store", "credHelpers": {"special.example": "per-host"}, "auths": {"known.example": {}}}"#
        let config = try DockerConfig(data: Data(json.utf8), helperSearchPath: [directory.path])
        #expect(try await config.credential(for: "special.example")
            == RegistryCredential(username: "helper-user", password: "for-special.example"))
        #expect(try await config.credential(for: "known.example") == RegistryCredential(identityToken: "identity"))
        #expect(try await config.credential(for: "docker.io") == RegistryCredential(username: "hubuser", password: "hubsecret"))
        #expect(try await config.credential(for: "other.example") == nil)
        let error = await #expect(throws: DockerConfigError.self) { try await config.credential(for: "broken.example") }
        #expect(error == .helperFailed(helper: "docker-credential-store", status: 3, message: "backend exploded"))

        let missing = try DockerConfig(data: Data(#"{"credsStore": "absent"}"#.utf8), helperSearchPath: [directory.path])
        await #expect(throws: DockerConfigError.helperNotFound("absent")) { try await missing.credential(for: "x.example") }
    }

    @Test("The file is $DOCKER_CONFIG/config.json, else ~/.docker/config.json; a missing file is empty")
    func location() throws {
        #expect(DockerConfig.defaultURL(environment: ["DOCKER_CONFIG": "/etc/kiln-docker"]).path == "/etc/kiln-docker/config.json")
        #expect(DockerConfig.defaultURL(environment: ["HOME": "/home/user"]).path == "/home/user/.docker/config.json")
        let empty = try DockerConfig.load(environment: ["DOCKER_CONFIG": "/nonexistent-\(UUID().uuidString)"])
        #expect(empty == DockerConfig(helperSearchPath: empty.helperSearchPath))
    }

    private func writeHelper(_ name: String, in directory: URL, body: String) throws {
        let url = directory.appendingPathComponent("docker-credential-\(name)")
        try Data("#!/bin/sh\n\(body)\n".utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
    }
}

@Suite("Editing config.json as docker login and logout do")
struct DockerConfigFileTests {
    @Test("Hub credentials go under the v1 index URL; logout removes every spelling of a host; other keys stay")
    func storeAndRemove() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-docker-config-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = DockerConfigFile(url: directory.appendingPathComponent("config.json"))
        try file.store(RegistryCredential(username: "me", password: "pw"), for: "docker.io")
        try file.store(RegistryCredential(username: "a", password: "b"), for: "reg.example:5000")
        let config = try DockerConfig(data: Data(contentsOf: file.url))
        #expect(config.auths.keys.sorted() == ["https://index.docker.io/v1/", "reg.example:5000"])
        #expect(try await config.credential(for: "docker.io") == RegistryCredential(username: "me", password: "pw"))

        var document = try JSONSerialization.jsonObject(with: Data(contentsOf: file.url)) as! [String: Any]
        var auths = document["auths"] as! [String: Any]
        auths["https://reg.example:5000"] = ["auth": "eDp5"]
        document["auths"] = auths
        document["credHelpers"] = ["gcr.io": "gcloud"]
        try JSONSerialization.data(withJSONObject: document).write(to: file.url)

        #expect(try file.remove(registry: "reg.example:5000"))
        #expect(try !file.remove(registry: "reg.example:5000"))
        let after = try DockerConfig(data: Data(contentsOf: file.url))
        #expect(after.auths.keys.sorted() == ["https://index.docker.io/v1/"])
        #expect(after.credHelpers == ["gcr.io": "gcloud"])
    }
}
