import Foundation
import KilnOCI
import KilnTestSupport
import Testing

/// `oci-image-spec/constants.json`: the `specs-go` constants, each of which must exist in KilnOCI.
@Suite struct ConstantsTests {
    private struct Constants: Decodable {
        struct Entry: Decodable { var const: String; var value: String }
        var mediaTypes: [Entry]
        var annotations: [Entry]
        var layout: [String: String]
    }

    private static func load() throws -> Constants {
        try JSONDecoder().decode(Constants.self, from: Conformance.data("oci-image-spec/constants.json"))
    }

    static let mediaTypes: [String: MediaType] = [
        "MediaTypeDescriptor": .ociDescriptor,
        "MediaTypeLayoutHeader": .ociLayoutHeader,
        "MediaTypeImageIndex": .ociIndex,
        "MediaTypeImageManifest": .ociManifest,
        "MediaTypeImageConfig": .ociConfig,
        "MediaTypeEmptyJSON": .ociEmpty,
        "MediaTypeImageLayer": .ociLayer,
        "MediaTypeImageLayerGzip": .ociLayerGzip,
        "MediaTypeImageLayerZstd": .ociLayerZstd,
        "MediaTypeImageLayerNonDistributable": .ociLayerNonDistributable,
        "MediaTypeImageLayerNonDistributableGzip": .ociLayerNonDistributableGzip,
        "MediaTypeImageLayerNonDistributableZstd": .ociLayerNonDistributableZstd,
    ]

    static let annotations: [String: String] = [
        "AnnotationCreated": AnnotationKey.created,
        "AnnotationAuthors": AnnotationKey.authors,
        "AnnotationURL": AnnotationKey.url,
        "AnnotationDocumentation": AnnotationKey.documentation,
        "AnnotationSource": AnnotationKey.source,
        "AnnotationVersion": AnnotationKey.version,
        "AnnotationRevision": AnnotationKey.revision,
        "AnnotationVendor": AnnotationKey.vendor,
        "AnnotationLicenses": AnnotationKey.licenses,
        "AnnotationRefName": AnnotationKey.refName,
        "AnnotationTitle": AnnotationKey.title,
        "AnnotationDescription": AnnotationKey.description,
        "AnnotationBaseImageDigest": AnnotationKey.baseImageDigest,
        "AnnotationBaseImageName": AnnotationKey.baseImageName,
    ]

    static let layout: [String: String] = [
        "ImageLayoutFile": ImageLayout.fileName,
        "ImageLayoutVersion": ImageLayout.currentVersion,
        "ImageIndexFile": ImageLayout.indexFileName,
        "ImageBlobsDir": ImageLayout.blobsDirectoryName,
    ]

    @Test func everyMediaTypeHasAConstant() throws {
        let constants = try Self.load()
        #expect(constants.mediaTypes.count == 12)
        for entry in constants.mediaTypes {
            #expect(Self.mediaTypes[entry.const]?.rawValue == entry.value, "\(entry.const)")
        }
        #expect(Set(constants.mediaTypes.map(\.const)) == Set(Self.mediaTypes.keys))
    }

    @Test func everyAnnotationKeyHasAConstant() throws {
        let constants = try Self.load()
        #expect(constants.annotations.count == 14)
        for entry in constants.annotations {
            #expect(Self.annotations[entry.const] == entry.value, "\(entry.const)")
        }
        #expect(Set(constants.annotations.map(\.const)) == Set(Self.annotations.keys))
    }

    @Test func layoutNamesMatch() throws {
        #expect(try Self.load().layout == Self.layout)
    }

    @Test func specMediaTypesAreWellFormed() {
        for mediaType in Self.mediaTypes.values { #expect(mediaType.isWellFormed, "\(mediaType)") }
    }
}
