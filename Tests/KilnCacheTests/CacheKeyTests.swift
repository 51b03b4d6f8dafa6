import Foundation
import KilnOCI
import Testing
@testable import KilnCache

@Suite struct CacheKeyTests {
    let base = CacheKeyInput(parent: Digest.sha256(of: Data("base".utf8)), platform: "linux/amd64", operation: "RUN",
                             instruction: #"["/bin/sh","-c","make"]"#, environment: ["PATH=/bin", "A=1"], user: "app",
                             workingDirectory: "/src", buildArgs: ["V": "1"])

    @Test func sameInputSameKey() {
        #expect(CacheKey(base) == CacheKey(base))
    }

    @Test func canonicalTextIsStable() {
        // The v1 format is a contract between machines and releases: this text must not drift.
        #expect(base.canonicalText == """
            version "kiln-cache-key v1"
            parent "\(Digest.sha256(of: Data("base".utf8)))"
            platform "linux/amd64"
            operation "RUN"
            instruction "[\\"/bin/sh\\",\\"-c\\",\\"make\\"]"
            env "PATH=/bin"
            env "A=1"
            user "app"
            workdir "/src"
            arg "V=1"

            """)
    }

    @Test(arguments: ["platform", "operation", "instruction", "user", "workdir"])
    func everyTextFieldChangesTheKey(field: String) {
        var changed = base
        switch field {
        case "platform": changed.platform += "x"
        case "operation": changed.operation += "x"
        case "instruction": changed.instruction += "x"
        case "user": changed.user += "x"
        default: changed.workingDirectory += "x"
        }
        #expect(CacheKey(changed) != CacheKey(base))
    }

    @Test func parentEnvArgsSourcesAndSecretsChangeTheKey() {
        var variants: [CacheKeyInput] = []
        var v = base; v.parent = nil; variants.append(v)
        v = base; v.environment = ["A=1", "PATH=/bin"]; variants.append(v)
        v = base; v.buildArgs = ["V": "2"]; variants.append(v)
        v = base; v.sourcesDigest = Digest.sha256(of: Data()); variants.append(v)
        v = base; v.secretIDs = ["npmrc"]; variants.append(v)
        let keys = Set(variants.map(CacheKey.init) + [CacheKey(base)])
        #expect(keys.count == variants.count + 1)
    }

    @Test func valuesCannotForgeAnotherField() {
        // A newline in a value must not be able to read as a separate field.
        var a = base; a.user = "app\nworkdir \"/src\""; a.workingDirectory = "/"
        var b = base; b.user = "app"; b.workingDirectory = "/src"
        #expect(CacheKey(a) != CacheKey(b))
        #expect(!a.canonicalText.contains("\nworkdir \"/src\"\nworkdir"))
    }

    @Test func buildArgOrderDoesNotMatter() {
        var a = base; a.buildArgs = ["A": "1", "B": "2"]
        var b = base; b.buildArgs = ["B": "2", "A": "1"]
        #expect(CacheKey(a) == CacheKey(b))
    }

    @Test func tagIsKilnPlusHex() {
        let key = CacheKey(base)
        #expect(key.tag == "kiln-" + key.digest.encoded)
        #expect(key.tag.count == 69)
    }
}
