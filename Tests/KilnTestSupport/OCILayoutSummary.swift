import Foundation

/// What an OCI image layout's first image is made of, read straight from its JSON files
/// (`index.json` → manifest → config), so that two builds can be compared by what they wrote
/// rather than by what the builder says it wrote.
public struct OCILayoutSummary: Equatable, Sendable {
    /// The manifest digest of the index's first entry.
    public var manifestDigest: String
    /// The manifest's layer digests, in order.
    public var layers: [String]
    /// The manifest's layer media types, in order.
    public var layerMediaTypes: [String]
    /// The config's `rootfs.diff_ids`.
    public var diffIDs: [String]
    /// The config as canonical JSON (sorted keys) with every `created` removed, top-level and
    /// in `history`: the timestamps are the one part of a config that may differ between two
    /// builds of the same inputs made at different times.
    public var configWithoutCreated: String

    /// Why a layout could not be read.
    public struct Unreadable: Error, CustomStringConvertible {
        /// What was missing or malformed.
        public let description: String
    }

    /// Reads the layout at `directory`.
    public init(layout directory: URL) throws {
        func json(_ url: URL) throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
                throw Unreadable(description: "\(url.path) is not a JSON object")
            }
            return object
        }
        func blob(_ digest: String) -> URL {
            directory.appendingPathComponent("blobs/sha256/\(digest.replacingOccurrences(of: "sha256:", with: ""))")
        }
        let index = try json(directory.appendingPathComponent("index.json"))
        guard let first = (index["manifests"] as? [[String: Any]])?.first, let digest = first["digest"] as? String else {
            throw Unreadable(description: "\(directory.path)/index.json lists no manifest")
        }
        let manifest = try json(blob(digest))
        let layerDescriptors = manifest["layers"] as? [[String: Any]] ?? []
        guard let configDigest = (manifest["config"] as? [String: Any])?["digest"] as? String else {
            throw Unreadable(description: "manifest \(digest) has no config")
        }
        var config = try json(blob(configDigest))
        config["created"] = nil
        if let history = config["history"] as? [[String: Any]] {
            config["history"] = history.map { entry -> [String: Any] in
                var entry = entry
                entry["created"] = nil
                return entry
            }
        }
        manifestDigest = digest
        layers = layerDescriptors.compactMap { $0["digest"] as? String }
        layerMediaTypes = layerDescriptors.compactMap { $0["mediaType"] as? String }
        diffIDs = (config["rootfs"] as? [String: Any])?["diff_ids"] as? [String] ?? []
        let canonical = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
        configWithoutCreated = String(decoding: canonical, as: UTF8.self)
    }
}
