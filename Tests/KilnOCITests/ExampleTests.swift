import Foundation
import KilnOCI
import KilnTestSupport
import Testing

/// One JSON example from the OCI spec text (`oci-image-spec/examples/index.json`).
struct SpecExample: Sendable, CustomTestStringConvertible, Decodable {
    var file: String
    var mediaType: String
    var title: String

    var testDescription: String { "\(file) (\(title))" }

    static let all: [SpecExample] = {
        struct Listing: Decodable { var examples: [SpecExample] }
        guard let data = try? Conformance.data("oci-image-spec/examples/index.json"),
              let listing = try? JSONDecoder().decode(Listing.self, from: data)
        else { return [] }
        return listing.examples
    }()
}

@Suite struct ExampleTests {
    @Test func allExamplesAreListed() {
        #expect(SpecExample.all.count == 13)
    }

    /// Each example decodes, validates, and re-encodes to the same JSON value: nothing the spec
    /// shows is lost or invented by Kiln's types.
    @Test(arguments: SpecExample.all)
    func decodesValidatesAndRoundTrips(_ example: SpecExample) throws {
        let input = try Conformance.data("oci-image-spec/examples/\(example.file)")
        let kind = try #require(OCIDocumentKind(rawValue: example.mediaType))
        let document = try kind.read(input)
        let output = try canonicalBytes(document)
        #expect(try JSONValue.parse(output) == JSONValue.parse(input))
        // What Kiln wrote must read back as valid too.
        _ = try kind.read(output)
    }
}
