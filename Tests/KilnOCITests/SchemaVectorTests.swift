import Foundation
import KilnOCI
import KilnTestSupport
import Testing

/// One document of `oci-image-spec/schema-tests/*.json` with its expected verdict.
struct SchemaVector: Sendable, CustomTestStringConvertible {
    var file: String
    var group: String
    var position: Int
    var mediaType: String
    var convertDockerMediaTypes: Bool
    var document: String
    var mustFail: Bool
    var comment: String
    var sha256OfDocument: String?

    /// `file#group[position]`: stable and unique, used for the deviation table.
    var id: String { "\(file)#\(group)[\(position)]" }

    var testDescription: String {
        "\(id) \(mustFail ? "reject" : "accept"): \(comment.isEmpty ? "(no comment)" : comment)"
    }

    /// The document as the upstream validator sees it (Docker media types replaced by OCI ones
    /// in the backwards-compatibility cases).
    var convertedDocument: String {
        guard convertDockerMediaTypes else { return document }
        let replacements: [(String, String)] = [
            ("application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json"),
            ("application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json"),
            ("application/vnd.docker.image.rootfs.diff.tar.gzip", "application/vnd.oci.image.layer.v1.tar+gzip"),
            ("application/vnd.docker.container.image.v1+json", "application/vnd.oci.image.config.v1+json"),
        ]
        return replacements.reduce(document) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
    }

    private struct FileShape: Decodable {
        struct Group: Decodable {
            var test: String
            var validatorMediaType: String
            var convertDockerMediaTypes: Bool
            var cases: [Case]
        }
        struct Case: Decodable {
            var document: String
            var fail: Bool
            var comment: String?
            var sha256OfDocument: String?
        }
        var groups: [Group]
    }

    /// Every vector of every file, in file order.
    static func loadAll() throws -> [SchemaVector] {
        try Conformance.entries("oci-image-spec/schema-tests").filter { $0.hasSuffix(".json") }.flatMap { file in
            let shape = try JSONDecoder().decode(FileShape.self, from: Conformance.data("oci-image-spec/schema-tests/\(file)"))
            return shape.groups.flatMap { group in
                group.cases.enumerated().map { position, vector in
                    SchemaVector(file: file, group: group.test, position: position, mediaType: group.validatorMediaType,
                                 convertDockerMediaTypes: group.convertDockerMediaTypes, document: vector.document,
                                 mustFail: vector.fail, comment: vector.comment ?? "",
                                 sha256OfDocument: vector.sha256OfDocument)
                }
            }
        }
    }

    static let all: [SchemaVector] = (try? loadAll()) ?? []
}

@Suite struct SchemaVectorTests {
    /// Vectors where Kiln's typed reading legitimately disagrees with the pure schema verdict,
    /// keyed by `SchemaVector.id`, with the reason. Empty: typed decoding plus `validate()`
    /// (which includes upstream validator.go's Env and go-digest checks) matches all 71.
    static let deviations: [String: String] = [:]

    @Test func allVectorsAreLoaded() {
        // README: manifest 12, index 12, config 10, descriptor 31, layout 2, backwards-compat 4.
        #expect(SchemaVector.all.count == 71)
        #expect(SchemaVector.all.filter(\.mustFail).count == 40)
    }

    @Test(arguments: SchemaVector.all)
    func verdictMatchesUpstream(_ vector: SchemaVector) throws {
        let kind = try #require(OCIDocumentKind(rawValue: vector.mediaType))
        let outcome = Result { try kind.read(Data(vector.convertedDocument.utf8)) }
        let rejected: Bool
        if case .failure = outcome { rejected = true } else { rejected = false }
        if let reason = Self.deviations[vector.id] {
            #expect(rejected != vector.mustFail, "listed deviation no longer deviates (\(reason))")
            return
        }
        if vector.mustFail {
            #expect(rejected, "accepted a document upstream rejects")
        } else {
            #expect(!rejected, "rejected a valid document: \(String(describing: outcome))")
        }
    }

    /// Backwards-compatibility documents are real Docker Hub content: Kiln must read them as they
    /// are (Docker media types kept), and their digests must match upstream's.
    @Test(arguments: SchemaVector.all.filter { $0.sha256OfDocument != nil })
    func dockerDocumentReadsUnconverted(_ vector: SchemaVector) throws {
        let bytes = Data(vector.document.utf8)
        #expect(Digest.sha256(of: bytes).description == vector.sha256OfDocument)
        switch try #require(OCIDocumentKind(rawValue: vector.mediaType)) {
        case .manifest:
            let manifest = try Manifest(validating: bytes)
            #expect(manifest.mediaType == .dockerManifest)
            #expect(manifest.layers.allSatisfy { $0.mediaType == .dockerLayerGzip })
            let reencoded = try Manifest(validating: CanonicalJSON.encode(manifest))
            #expect(reencoded == manifest)
        case .index:
            let index = try Index(validating: bytes)
            #expect(index.mediaType == .dockerManifestList)
            #expect(index.manifests.allSatisfy { $0.mediaType == .dockerManifest })
            #expect(index.manifest(for: try Platform(parsing: "linux/arm/v7")) != nil)
        case .config:
            let config = try ImageConfig(validating: bytes)
            #expect(config.architecture == "amd64")
            #expect(config.config.env.first?.hasPrefix("PATH=") == true)
            #expect(!config.rootfs.diffIDs.isEmpty)
        case .descriptor, .layout:
            Issue.record("no backwards-compatibility vectors of this kind are expected")
        }
    }
}
