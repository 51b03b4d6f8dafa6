import Foundation

/// An OCI bundle directory for one container: `config.json` plus the generated /etc files.
/// It lives outside the rootfs and is removed after the run.
struct Bundle: Sendable {
    /// The bundle directory.
    let directory: URL

    /// Creates `parent/<id>` and writes `spec` into it; the generated /etc files are written
    /// first so their mounts can be part of the spec.
    static func create(in parent: URL, id: String, makeSpec: (_ etcMounts: [RuntimeSpec.Mount]) -> RuntimeSpec,
                       etcFiles: GeneratedEtcFiles) throws -> Bundle {
        let directory = parent.appendingPathComponent(id, isDirectory: true)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("etc"),
                                                withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let bundle = Bundle(directory: directory)
        do {
            let spec = makeSpec(try etcFiles.write(into: directory.appendingPathComponent("etc")))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(spec).write(to: directory.appendingPathComponent("config.json"))
        } catch {
            bundle.remove()
            throw error
        }
        return bundle
    }

    /// Deletes the bundle; a missing directory is fine.
    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}
