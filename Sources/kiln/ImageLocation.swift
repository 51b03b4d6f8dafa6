import ArgumentParser
import Foundation
import KilnImage

/// `oci:PATH[:REF]` or `docker-archive:PATH[:TAG]`: an image stored on disk, named the way
/// skopeo names it. PATH may itself contain colons: the longest prefix that exists wins.
struct ImageLocation: Sendable {
    /// The transports Kiln reads from disk.
    enum Transport: String, Sendable, CaseIterable {
        case oci
        case dockerArchive = "docker-archive"
    }

    var transport: Transport
    var path: URL
    var reference: String?

    init(parsing text: String) throws {
        guard let colon = text.firstIndex(of: ":"), let transport = Transport(rawValue: String(text[..<colon])) else {
            throw ArgumentParser.ValidationError("\"\(text)\": expected oci:PATH[:REF] or docker-archive:PATH[:TAG]")
        }
        let rest = String(text[text.index(after: colon)...])
        var path = rest
        var reference: String?
        if !FileManager.default.fileExists(atPath: rest) {
            // Try every colon from the right: the path is the longest prefix that exists.
            for index in rest.indices.reversed() where rest[index] == ":" {
                let candidate = String(rest[..<index])
                if FileManager.default.fileExists(atPath: candidate) {
                    path = candidate
                    reference = String(rest[rest.index(after: index)...])
                    break
                }
            }
        }
        guard !path.isEmpty else { throw ArgumentParser.ValidationError("\"\(text)\": no path") }
        self.transport = transport
        self.path = URL(fileURLWithPath: path)
        self.reference = reference
    }

    /// Opens the image.
    func open() throws -> any Image {
        switch transport {
        case .oci: return try OCILayout(at: path).image(reference: reference)
        case .dockerArchive: return try DockerArchive(file: path).image(tag: reference)
        }
    }
}
