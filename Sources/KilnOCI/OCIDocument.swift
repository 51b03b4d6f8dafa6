import Foundation

/// A JSON document of the OCI image spec that Kiln reads and writes.
public protocol OCIDocument: Codable, Sendable {
    /// Checks what Codable cannot: patterns, ranges and cross-field rules of the spec's schemas.
    func validate() throws(ValidationError)
}

extension OCIDocument {
    /// Decodes `data` and validates the result, as every reader of untrusted documents should.
    public init(validating data: Data) throws(DocumentError) {
        let decoded: Self
        do {
            decoded = try CanonicalJSON.decode(Self.self, from: data)
        } catch {
            throw DocumentError.malformed(DocumentError.describe(error))
        }
        do { try decoded.validate() } catch { throw DocumentError.invalid(error) }
        self = decoded
    }
}
