import Foundation
import KilnCache
import KilnDockerfile
import KilnExecutor
import KilnOCI
import Testing
@testable import KilnBuilder
@testable import KilnFileOps

/// The cache key covers every property of a step's definition, or says why not: adding a
/// property that is neither encoded into the key nor on ``StepDefinition/keyExclusions``
/// fails here.
@Suite struct StepDefinitionTests {
    /// A definition with every optional set and every array non-empty, so every stored
    /// property is reachable.
    static var complete: StepDefinition {
        var mount = Mount()
        mount.type = .cache
        mount.target = "/root/.m2"
        mount.source = "seed"
        mount.from = "deps"
        mount.readOnly = false
        mount.id = "m2"
        mount.sharing = .locked
        mount.mode = 0o755
        mount.uid = 1000
        mount.gid = 1000
        mount.required = true
        mount.size = 1 << 20
        mount.env = "TOKEN"
        let digest = Digest.sha256(of: Data("x".utf8))
        let request = CopyRequest(
            sources: ["src/"], inlineFiles: [InlineFile(path: "note.txt", content: "hi", expand: true)],
            destination: "/app/", workingDirectory: "/w", chown: "1:1", chmod: "755", excludes: ["*.o"],
            parents: true, link: true, isAdd: true, unpack: false, checksum: "sha256:" + digest.encoded)
        return StepDefinition(
            parent: digest, platform: "linux/amd64", buildArgs: ["V": "1"],
            run: RunDefinition(
                instruction: "RUN make", arguments: ["/bin/sh", "-c", "make"], script: "echo hi", environment: ["A=1"],
                proxyEnvironment: ["HTTP_PROXY=http://p"], user: "app", workingDirectory: "/src", hostname: "kiln",
                network: .none, security: .sandbox, devices: ["/dev/fuse"],
                mounts: [MountDefinition(options: mount, target: "/root/.m2", contents: digest, secretGiven: true)]),
            copy: CopyDefinition(instruction: "ADD src/ /app/", request: request, sourceKind: "context", contents: digest),
            workdir: WorkdirDefinition(instruction: "WORKDIR /w", path: "/w"))
    }

    /// Dotted paths of every stored property, found by reflection: a value whose encoding is
    /// an object is looked into (its properties are members), anything else is one member.
    static func storedPaths(of value: Any, prefix: String = "", nilOptionals: inout [String]) -> Set<String> {
        var paths = Set<String>()
        for child in Mirror(reflecting: value).children {
            guard let label = child.label else { continue }
            let path = prefix.isEmpty ? label : prefix + "." + label
            paths.insert(path)
            var inner: Any = child.value
            let mirror = Mirror(reflecting: inner)
            if mirror.displayStyle == .optional {
                guard let wrapped = mirror.children.first?.value else {
                    nilOptionals.append(path)
                    continue
                }
                inner = wrapped
            }
            if let array = inner as? [Any] {
                if array.isEmpty { nilOptionals.append(path + "[]") }
                for element in array { paths.formUnion(storedPaths(ofObjectLike: element, prefix: path, nilOptionals: &nilOptionals)) }
            } else {
                paths.formUnion(storedPaths(ofObjectLike: inner, prefix: path, nilOptionals: &nilOptionals))
            }
        }
        return paths
    }

    private static func storedPaths(ofObjectLike value: Any, prefix: String, nilOptionals: inout [String]) -> Set<String> {
        guard let encodable = value as? any Encodable, case .object? = try? KeyDocument(encoding: encodable) else { return [] }
        return storedPaths(of: value, prefix: prefix, nilOptionals: &nilOptionals)
    }

    @Test func everyStoredPropertyIsInTheKeyOrExcludedWithAReason() throws {
        let definition = Self.complete
        var nilOptionals: [String] = []
        let stored = Self.storedPaths(of: definition, nilOptionals: &nilOptionals)
        #expect(nilOptionals.isEmpty, "the sample must set every property: \(nilOptionals)")
        let keyed = try definition.keyDocument().memberPaths
        let excluded = Set(StepDefinition.keyExclusions.map(\.path))
        let unaccounted = stored.subtracting(keyed).subtracting(excluded)
        #expect(unaccounted.isEmpty, "neither in the key nor excluded with a reason: \(unaccounted.sorted())")
        #expect(stored.count > 40, "reflection found too little: \(stored.sorted())")
    }

    @Test func exclusionsNameRealMembersAndGiveReasons() throws {
        let full = try KeyDocument(encoding: Self.complete).memberPaths
        let keyed = try Self.complete.keyDocument().memberPaths
        for exclusion in StepDefinition.keyExclusions + StepDefinition.unreadInputs {
            #expect(!exclusion.reason.isEmpty)
        }
        for exclusion in StepDefinition.keyExclusions {
            #expect(full.contains(exclusion.path), "stale exclusion \(exclusion.path)")
            #expect(!keyed.contains(exclusion.path))
        }
    }

    @Test func everyKeyedLeafChangesTheKey() throws {
        // Each member of the key document, replaced by another value, gives another key.
        let document = try Self.complete.keyDocument()
        let base = CacheKey(document: document)
        var checked = 0
        for path in document.memberPaths.sorted() {
            guard let value = document.value(at: path) else { continue }
            let changed = Self.replacing(path.split(separator: ".").map(String.init)[...], in: document, with: .string("changed:\(value.canonicalText)"))
            #expect(CacheKey(document: changed) != base, "\(path)")
            checked += 1
        }
        #expect(checked > 20)
    }

    private static func replacing(_ path: ArraySlice<String>, in document: KeyDocument, with value: KeyDocument) -> KeyDocument {
        guard let first = path.first, case .object(var members) = document, let child = members[first] else { return document }
        members[first] = path.count == 1 ? value : replacing(path.dropFirst(), in: child, with: value)
        return .object(members)
    }
}
