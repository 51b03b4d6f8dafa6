import ArgumentParser
import Foundation
import KilnBuilder

/// `--output type=oci,dest=DIR` / `type=oci,dest=FILE.tar,tar=true` / `type=docker,dest=FILE.tar`:
/// where an image goes, in BuildKit's comma-separated `key=value` form.
struct OutputSpec: Sendable {
    /// The on-disk forms Kiln writes.
    enum Kind: String, Sendable {
        /// An OCI image layout: a directory, or a tar of one with `tar=true`.
        case oci
        /// A docker-archive tarball (`docker load`, `podman load`).
        case docker
    }

    var kind: Kind
    var destination: URL
    /// For `oci`: write a tar of the layout instead of a directory.
    var tar: Bool

    init(parsing text: String) throws {
        var fields: KeyValueFields
        do { fields = try KeyValueFields(parsing: text) } catch { throw ArgumentParser.ValidationError("--output: \(error)") }
        guard let typeText = fields.take("type"), let kind = Kind(rawValue: typeText) else {
            throw ArgumentParser.ValidationError("--output needs type=oci or type=docker")
        }
        guard let dest = fields.take("dest"), !dest.isEmpty else {
            throw ArgumentParser.ValidationError("--output needs dest=PATH")
        }
        let tarText = fields.take("tar") ?? "false"
        guard let tar = Bool(tarText) else { throw ArgumentParser.ValidationError("--output: tar must be true or false") }
        if let unknown = fields.remainingKeys.first { throw ArgumentParser.ValidationError("--output: unknown key \"\(unknown)\"") }
        self.kind = kind
        self.destination = URL(fileURLWithPath: dest).standardizedFileURL
        self.tar = tar
    }
}
