import KilnOCI
import Testing

/// One media-type family per manifest: every layer type maps to its counterpart with the same
/// compression and distributability, and what a family cannot say is refused.
@Suite struct MediaTypeFamilyTests {
    /// Every layer media type Kiln reads, with its OCI and Docker counterparts (nil: none).
    static let layers: [(MediaType, oci: MediaType, docker: MediaType?)] = [
        (.ociLayer, .ociLayer, .dockerLayer),
        (.ociLayerGzip, .ociLayerGzip, .dockerLayerGzip),
        (.ociLayerZstd, .ociLayerZstd, nil),
        (.ociLayerNonDistributable, .ociLayerNonDistributable, .dockerForeignLayer),
        (.ociLayerNonDistributableGzip, .ociLayerNonDistributableGzip, .dockerForeignLayerGzip),
        (.ociLayerNonDistributableZstd, .ociLayerNonDistributableZstd, nil),
        (.dockerLayer, .ociLayer, .dockerLayer),
        (.dockerLayerGzip, .ociLayerGzip, .dockerLayerGzip),
        (.dockerForeignLayer, .ociLayerNonDistributable, .dockerForeignLayer),
        (.dockerForeignLayerGzip, .ociLayerNonDistributableGzip, .dockerForeignLayerGzip),
    ]

    @Test("each layer type has its counterpart in each family, of that family")
    func layerCounterparts() throws {
        for (type, oci, docker) in Self.layers {
            #expect(type.isLayer)
            #expect(try MediaTypeFamily.oci.layer(type) == oci)
            #expect(MediaTypeFamily(of: oci) == .oci)
            if let docker {
                #expect(try MediaTypeFamily.docker.layer(type) == docker)
                #expect(MediaTypeFamily(of: docker) == .docker)
                // Round trip: the family change never loses what the blob is.
                #expect(try MediaTypeFamily.oci.layer(docker) == oci)
            } else {
                #expect(throws: MediaTypeFamilyError.zstdInDocker(type)) { try MediaTypeFamily.docker.layer(type) }
            }
            #expect(type.isNonDistributable == oci.rawValue.contains("nondistributable"))
            #expect(type.isUncompressedLayer == (oci == .ociLayer || oci == .ociLayerNonDistributable))
        }
    }

    @Test("every layer media type Kiln knows is in the table above")
    func tableIsComplete() {
        let known: [MediaType] = [.ociLayer, .ociLayerGzip, .ociLayerZstd, .ociLayerNonDistributable, .ociLayerNonDistributableGzip,
                                  .ociLayerNonDistributableZstd, .dockerLayer, .dockerLayerGzip, .dockerForeignLayer,
                                  .dockerForeignLayerGzip]
        #expect(Set(known) == Set(Self.layers.map(\.0)))
    }

    @Test("manifest, index and config types belong to their family; non-layers are refused as layers")
    func documents() {
        for family in MediaTypeFamily.allCases {
            #expect([family.manifest, family.index, family.config].allSatisfy { MediaTypeFamily(of: $0) == family })
            #expect(throws: MediaTypeFamilyError.notALayer(family.config)) { try family.layer(family.config) }
        }
        #expect(MediaTypeFamily(of: "application/vnd.example+json") == nil)
    }
}
