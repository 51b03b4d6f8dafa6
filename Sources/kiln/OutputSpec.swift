import ArgumentParser
import Foundation
import KilnBuilder

/// `kiln import --output type=oci,dest=DIR` / `type=oci,dest=FILE.tar,tar=true` /
/// `type=docker,dest=FILE.tar`: where an image goes, in BuildKit's `--output` grammar
/// (``OutputFields``).
struct OutputSpec: Sendable {
    /// The on-disk forms Kiln writes.
    enum Kind: String, Sendable {
        /// An OCI image layout: a directory, or a tar of one with `tar=true`.
        case oci
        /// A docker-archive tarball (`docker load`, `podman load`).
        case docker
    }

    /// The types `kiln import --output` writes and the keys each takes.
    static let accepted: [(type: String, keys: Set<String>)] = [("oci", ["dest", "tar"]), ("docker", ["dest"])]

    var kind: Kind
    var destination: URL
    /// For `oci`: write a tar of the layout instead of a directory.
    var tar: Bool

    init(parsing text: String) throws {
        do {
            let fields = try OutputFields(parsing: text, accepted: Self.accepted)
            kind = Kind(rawValue: fields.type)!  // `accepted` names exactly the kinds
            destination = URL(fileURLWithPath: try fields.required("dest", placeholder: "PATH")).standardizedFileURL
            tar = try fields.bool("tar", default: false)
        } catch {
            throw ArgumentParser.ValidationError(error.description)
        }
    }
}
