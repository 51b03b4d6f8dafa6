import Foundation

/// The OCI image-spec JSON schemas (from the conformance directory), checked with Python's
/// `jsonschema` through the KilnOCI tests' validator script.
public enum OCISchema {
    /// The error messages of the documents among `documents` (media type and file) that the
    /// schema for their media type rejects; empty when all pass. Throws when the validator
    /// itself cannot run.
    public static func errors(_ documents: [(mediaType: String, file: URL)]) throws -> [String] {
        let script = Conformance.packageRoot.appendingPathComponent("Tests/KilnOCITests/Fixtures/validate_oci_schema.py")
        let schemas = Conformance.url("oci-image-spec/schema")
        let result = try ProcessRunner.checked("python3", [script.path, schemas.path] + documents.map { "\($0.mediaType)=\($0.file.path)" })
        return try result.stdout.split(separator: "\n").flatMap { line -> [String] in
            let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            if report["valid"] as? Bool == true { return [] }
            return ["\(report["file"] ?? "?"): \(report["errors"] ?? "invalid")"]
        }
    }
}
