import Foundation
import KilnOCI

/// Which Kiln type reads a document of a given (validator) media type, so conformance tables can
/// say "read this as that" without a switch in every test.
enum OCIDocumentKind: String, CaseIterable {
    case manifest = "application/vnd.oci.image.manifest.v1+json"
    case index = "application/vnd.oci.image.index.v1+json"
    case config = "application/vnd.oci.image.config.v1+json"
    case descriptor = "application/vnd.oci.descriptor.v1+json"
    case layout = "application/vnd.oci.layout.header.v1+json"

    /// Decodes and validates `data` as this kind; returns the value for further checks.
    func read(_ data: Data) throws -> any OCIDocument {
        switch self {
        case .manifest: return try Manifest(validating: data)
        case .index: return try Index(validating: data)
        case .config: return try ImageConfig(validating: data)
        case .descriptor: return try Descriptor(validating: data)
        case .layout: return try ImageLayout(validating: data)
        }
    }
}

/// Encodes any document canonically (opens the existential for the generic encoder).
func canonicalBytes(_ document: any OCIDocument) throws -> Data {
    func encode<Document: OCIDocument>(_ value: Document) throws -> Data { try CanonicalJSON.encode(value) }
    return try encode(document)
}
