import Foundation

/// What the corpus compares of one built image: its config fields, history and layer counts,
/// and the files of its final rootfs. Made the same way for Kiln's and buildah's images.
struct BuildCorpusImage: Sendable {
    /// The config fields compared, in the order reported.
    static let configFields = [
        "Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels", "StopSignal",
        "Healthcheck", "Shell", "OnBuild",
    ]

    /// Labels one tool adds to every image by itself; never compared.
    static let toolLabels: Set<String> = ["io.buildah.version"]

    /// Each field of ``configFields``, normalised to canonical JSON text (`absent` when unset or
    /// empty: tools differ on `null` against `[]`, which means the same to a runtime).
    var config: [String: String]
    /// The number of history entries, leaving out buildah's entries for ARG instructions:
    /// buildah records `#(nop) ARG …` steps, BuildKit (and Kiln) record none.
    var historyCount: Int
    /// The number of history entries marked `empty_layer`.
    var emptyHistoryCount: Int
    /// The number of layers (`rootfs.diff_ids`).
    var layerCount: Int
    /// The raw config document, for messages.
    var configText: String

    /// Reads an image config document (Docker's or OCI's shape: `config`, `history`, `rootfs`).
    init(configDocument document: [String: Any]) throws {
        let config = document["config"] as? [String: Any] ?? [:]
        var fields: [String: String] = [:]
        for field in Self.configFields {
            fields[field] = try Self.normalised(field, config[field])
        }
        self.config = fields
        let history = document["history"] as? [[String: Any]] ?? []
        historyCount = history.filter { !(($0["created_by"] as? String)?.contains("#(nop) ARG ") ?? false) }.count
        emptyHistoryCount = history.filter { $0["empty_layer"] as? Bool == true }.count
        layerCount = ((document["rootfs"] as? [String: Any])?["diff_ids"] as? [Any])?.count ?? 0
        configText = String(decoding: try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]), as: UTF8.self)
    }

    /// `value` as canonical JSON text, with the per-field normalisation described on ``config``.
    static func normalised(_ field: String, _ value: Any?) throws -> String {
        var value = value
        if var labels = value as? [String: Any], field == "Labels" {
            for label in toolLabels { labels[label] = nil }
            value = labels
        }
        // Sets whose members are the keys (`{"80/tcp": {}}`) compare as sorted key lists.
        if let set = value as? [String: Any], field == "ExposedPorts" || field == "Volumes" {
            value = set.keys.sorted()
        }
        switch value {
        case nil, is NSNull: return "absent"
        case let string as String where string.isEmpty: return "absent"
        case let array as [Any] where array.isEmpty: return "absent"
        case let dictionary as [String: Any] where dictionary.isEmpty: return "absent"
        case let string as String: return "\"\(string)\""
        default:
            let data = try JSONSerialization.data(withJSONObject: value!, options: [.sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        }
    }

    /// The config document of the single image in an OCI layout (following an index if the
    /// layout's entry is one), and its `org.opencontainers.image.ref.name`.
    static func configDocument(ofLayout layout: URL) throws -> (document: [String: Any], refName: String?) {
        func blob(_ digest: String) throws -> [String: Any] {
            let path = layout.appendingPathComponent("blobs/" + digest.replacingOccurrences(of: ":", with: "/"))
            guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as? [String: Any] else {
                throw BuildCorpusError("\(path.path) is not a JSON object")
            }
            return object
        }
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: layout.appendingPathComponent("index.json")))
        guard let entries = (index as? [String: Any])?["manifests"] as? [[String: Any]], entries.count == 1,
              var digest = entries[0]["digest"] as? String else {
            throw BuildCorpusError("\(layout.path)/index.json does not list exactly one image")
        }
        let refName = (entries[0]["annotations"] as? [String: Any])?["org.opencontainers.image.ref.name"] as? String
        var manifest = try blob(digest)
        if let platforms = manifest["manifests"] as? [[String: Any]] {
            guard platforms.count == 1, let inner = platforms[0]["digest"] as? String else {
                throw BuildCorpusError("\(layout.path): the image index holds \(platforms.count) manifests, not one")
            }
            digest = inner
            manifest = try blob(digest)
        }
        guard let configDigest = (manifest["config"] as? [String: Any])?["digest"] as? String else {
            throw BuildCorpusError("\(layout.path): manifest \(digest) has no config")
        }
        return (try blob(configDigest), refName)
    }
}
