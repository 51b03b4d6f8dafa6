import ArgumentParser
import Foundation
import KilnBuilder
import KilnStorage

/// `--secret id=ID,src=FILE` / `--secret id=ID,env=VARIABLE` (BuildKit's forms; `type=file|env`
/// with `src` may say which): where each secret's bytes come from.
struct SecretFlags {
    /// Where one secret comes from.
    enum Source: Equatable {
        case file(String)
        case environment(String)
    }

    /// The secrets by id.
    let sources: [String: Source]

    init(_ values: [String]) throws {
        var sources: [String: Source] = [:]
        for item in values {
            var fields: KeyValueFields
            do { fields = try KeyValueFields(parsing: item) } catch { throw ValidationError("--secret \(item): \(error)") }
            guard let id = fields.take("id"), !id.isEmpty else { throw ValidationError("--secret \(item): expected id=ID,src=FILE or id=ID,env=VARIABLE") }
            let type = fields.take("type")
            let source = fields.take("src") ?? fields.take("source")
            let variable = fields.take("env")
            if let unknown = fields.remainingKeys.first { throw ValidationError("--secret \(id): unknown key \"\(unknown)\"") }
            switch (type, source, variable) {
            case ("env"?, let name?, nil), (nil, nil, let name?), ("env"?, nil, let name?):
                sources[id] = .environment(name)
            case ("file"?, let path?, nil), (nil, let path?, nil):
                sources[id] = .file(path)
            default:
                throw ValidationError("--secret \(item): expected id=ID,src=FILE or id=ID,env=VARIABLE")
            }
        }
        self.sources = sources
    }

    /// Each secret as a file the builder can mount: files as they are (checked readable now,
    /// before any step runs), environment variables written to private files (0600) in a
    /// directory of this process under `tmp/`, which the caller removes after the build (and the
    /// next build removes if this process is killed).
    func files(root: KilnRoot) throws -> (files: [String: URL], directory: URL?) {
        var files: [String: URL] = [:]
        var directory: URL?
        for (id, source) in sources.sorted(by: { $0.key < $1.key }) {
            switch source {
            case .file(let path):
                guard FileManager.default.isReadableFile(atPath: path) else { throw CommandFailure("--secret \(id): cannot read \(path)") }
                files[id] = URL(fileURLWithPath: path).standardizedFileURL
            case .environment(let name):
                // The raw bytes: ProcessInfo would decode them as UTF-8 and alter a binary value.
                guard let value = getenv(name).map({ Data(bytes: $0, count: strlen($0)) }) else {
                    throw CommandFailure("--secret \(id): the environment variable \(name) is not set")
                }
                let folder = try directory ?? Self.makeDirectory(root: root)
                directory = folder
                let file = folder.appendingPathComponent(String(files.count))
                guard FileManager.default.createFile(atPath: file.path, contents: value, attributes: [.posixPermissions: 0o600]) else {
                    throw CommandFailure("--secret \(id): cannot write it under \(folder.path)")
                }
                files[id] = file
            }
        }
        return (files, directory)
    }

    private static func makeDirectory(root: KilnRoot) throws -> URL {
        let directory = root.tmp.appendingPathComponent("secrets-\(ProcessIdentity.current)-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return directory
    }
}
