import Foundation
import KilnOCI
#if canImport(Glibc)
import Glibc
#endif

/// Edits the `auths` of a Docker `config.json` the way `docker login`/`docker logout` do:
/// every other key (`credHelpers`, `proxies`, other registries) is kept as it was, and the file
/// is replaced atomically with mode 0600, since it holds passwords.
public struct DockerConfigFile: Sendable, Hashable {
    /// The `config.json` being edited.
    public var url: URL

    /// The file at `url`.
    public init(url: URL) {
        self.url = url
    }

    /// The file Docker reads (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> DockerConfigFile {
        DockerConfigFile(url: DockerConfig.defaultURL(environment: environment))
    }

    /// Stores `credential` as `auths[registry].auth` (base64 `user:password`); Docker Hub's
    /// entry goes under the v1 index URL, where Docker looks for it.
    public func store(_ credential: RegistryCredential, for registry: String) throws {
        var document = try read()
        var auths = document["auths"] as? [String: Any] ?? [:]
        let token = Data("\(credential.username):\(credential.password)".utf8).base64EncodedString()
        for key in DockerConfig.authKeys(for: registry) { auths.removeValue(forKey: key) }
        auths[registry == Reference.defaultRegistry ? DockerConfig.dockerHubIndex : registry] = ["auth": token]
        document["auths"] = auths
        try write(document)
    }

    /// Removes every `auths` entry that names `registry` (`host`, `https://host`, ...); returns
    /// whether there was one.
    @discardableResult
    public func remove(registry: String) throws -> Bool {
        var document = try read()
        guard var auths = document["auths"] as? [String: Any] else { return false }
        let removed = DockerConfig.authKeys(for: registry).compactMap { auths.removeValue(forKey: $0) }
        guard !removed.isEmpty else { return false }
        document["auths"] = auths
        try write(document)
        return true
    }

    private func read() throws -> [String: Any] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [:] }
        let data = try Data(contentsOf: url)
        if data.isEmpty { return [:] }
        guard let document = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw DockerConfigError.malformed("\(url.path) is not a JSON object")
        }
        return document
    }

    private func write(_ document: [String: Any]) throws {
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let data = try JSONSerialization.data(
            withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        let temporary = directory.appendingPathComponent(".config.json.kiln-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: data + Data("\n".utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw DockerConfigError.malformed("cannot write \(temporary.path)")
        }
        // rename(2) replaces the file atomically: a reader sees the old or the new, never half of one.
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw DockerConfigError.malformed("cannot replace \(url.path): \(reason)")
        }
    }
}
