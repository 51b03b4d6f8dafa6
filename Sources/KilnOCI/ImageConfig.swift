import Foundation

/// The image config blob: platform, default run settings, layer diff IDs and history.
///
/// Reads OCI image configs and Docker image configs (`application/vnd.docker.container.image.v1+json`).
/// Docker-only fields Kiln has no use for (`container_config`, `docker_version`, ...) are dropped on read.
public struct ImageConfig: OCIDocument, Hashable {
    /// RFC 3339 creation time, kept as written so re-encoding never changes precision (omitted when nil).
    public var created: String?
    /// Who built the image (omitted when nil).
    public var author: String?
    /// CPU architecture (`amd64`, `arm64`, ...).
    public var architecture: String
    /// Operating system (`linux`).
    public var os: String
    /// Operating system version (Windows; omitted when nil).
    public var osVersion: String?
    /// Required operating system features (omitted when empty).
    public var osFeatures: [String]
    /// CPU variant (omitted when nil).
    public var variant: String?
    /// Defaults for containers run from the image (omitted when empty).
    public var config: ContainerConfig
    /// The layers' uncompressed digests.
    public var rootfs: RootFS
    /// One entry per build step, including steps that made no layer (omitted when empty).
    public var history: [History]

    /// Creates a config for `platform`.
    public init(
        platform: Platform, created: String? = nil, author: String? = nil, config: ContainerConfig = ContainerConfig(),
        rootfs: RootFS = RootFS(diffIDs: []), history: [History] = []
    ) {
        self.created = created
        self.author = author
        self.architecture = platform.architecture
        self.os = platform.os
        self.osVersion = platform.osVersion
        self.osFeatures = platform.osFeatures
        self.variant = platform.variant
        self.config = config
        self.rootfs = rootfs
        self.history = history
    }

    /// The platform the config declares.
    public var platform: Platform {
        Platform(os: os, architecture: architecture, variant: variant, osVersion: osVersion, osFeatures: osFeatures)
    }

    private enum CodingKeys: String, CodingKey {
        case created, author, architecture, os, variant, config, rootfs, history
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    /// Decodes the JSON form; absent optional fields become nil or empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        created = try container.decodeIfPresent(String.self, forKey: .created)
        author = try container.decodeIfPresent(String.self, forKey: .author)
        architecture = try container.decode(String.self, forKey: .architecture)
        os = try container.decode(String.self, forKey: .os)
        osVersion = try container.decodeIfPresent(String.self, forKey: .osVersion)
        osFeatures = try container.decodeIfPresent([String].self, forKey: .osFeatures) ?? []
        variant = try container.decodeIfPresent(String.self, forKey: .variant)
        config = try container.decodeIfPresent(ContainerConfig.self, forKey: .config) ?? ContainerConfig()
        rootfs = try container.decode(RootFS.self, forKey: .rootfs)
        history = try container.decodeIfPresent([History].self, forKey: .history) ?? []
    }

    /// Encodes the JSON form, omitting nil and empty optional fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(created, forKey: .created)
        try container.encodeIfPresent(author, forKey: .author)
        try container.encode(architecture, forKey: .architecture)
        try container.encode(os, forKey: .os)
        if let osVersion, !osVersion.isEmpty { try container.encode(osVersion, forKey: .osVersion) }
        if !osFeatures.isEmpty { try container.encode(osFeatures, forKey: .osFeatures) }
        if let variant, !variant.isEmpty { try container.encode(variant, forKey: .variant) }
        if !config.isEmpty { try container.encode(config, forKey: .config) }
        try container.encode(rootfs, forKey: .rootfs)
        if !history.isEmpty { try container.encode(history, forKey: .history) }
    }

    /// Checks the config schema and upstream's extra rule on `Env`: RFC 3339 times,
    /// `rootfs.type == "layers"`, and every `Env` entry `KEY=value` with a non-empty key.
    public func validate() throws(ValidationError) {
        if let created, !RFC3339.isValid(created) {
            throw ValidationError(field: "created", reason: "\"\(created)\" is not an RFC 3339 date-time")
        }
        do { try config.validate() } catch { throw error.nested(in: "config") }
        guard rootfs.type == RootFS.layersType else {
            throw ValidationError(field: "rootfs.type", reason: "must be \"layers\", got \"\(rootfs.type)\"")
        }
        for (position, entry) in history.enumerated() {
            if let created = entry.created, !RFC3339.isValid(created) {
                throw ValidationError(field: "history[\(position)].created", reason: "\"\(created)\" is not an RFC 3339 date-time")
            }
        }
    }
}

/// The layers of an image's root filesystem, as uncompressed-content digests (diff IDs).
public struct RootFS: Codable, Sendable, Hashable {
    /// `layers`, the only type the spec defines.
    public static let layersType = "layers"

    /// Always ``layersType`` for valid configs.
    public var type: String
    /// sha256 of each layer's uncompressed tar, base layer first.
    public var diffIDs: [Digest]

    /// Creates a `layers` rootfs.
    public init(diffIDs: [Digest]) {
        self.type = RootFS.layersType
        self.diffIDs = diffIDs
    }

    /// The chain ID of every layer prefix; see ``ChainID``.
    public var chainIDs: [Digest] { ChainID.chain(diffIDs) }

    private enum CodingKeys: String, CodingKey {
        case type
        case diffIDs = "diff_ids"
    }
}

/// One build step in an image's history.
public struct History: Codable, Sendable, Hashable {
    /// RFC 3339 time of the step (omitted when nil).
    public var created: String?
    /// The command of the step, as Docker renders it (omitted when nil).
    public var createdBy: String?
    /// Who made the step (omitted when nil).
    public var author: String?
    /// Free text (omitted when nil).
    public var comment: String?
    /// True when the step added no layer (omitted when false).
    public var emptyLayer: Bool

    /// Creates a history entry.
    public init(created: String? = nil, createdBy: String? = nil, author: String? = nil, comment: String? = nil,
                emptyLayer: Bool = false) {
        self.created = created
        self.createdBy = createdBy
        self.author = author
        self.comment = comment
        self.emptyLayer = emptyLayer
    }

    private enum CodingKeys: String, CodingKey {
        case created, author, comment
        case createdBy = "created_by"
        case emptyLayer = "empty_layer"
    }

    /// Decodes the JSON form; absent optional fields become nil or empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        created = try container.decodeIfPresent(String.self, forKey: .created)
        createdBy = try container.decodeIfPresent(String.self, forKey: .createdBy)
        author = try container.decodeIfPresent(String.self, forKey: .author)
        comment = try container.decodeIfPresent(String.self, forKey: .comment)
        emptyLayer = try container.decodeIfPresent(Bool.self, forKey: .emptyLayer) ?? false
    }

    /// Encodes the JSON form, omitting nil and empty optional fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(created, forKey: .created)
        try container.encodeIfPresent(createdBy, forKey: .createdBy)
        try container.encodeIfPresent(author, forKey: .author)
        try container.encodeIfPresent(comment, forKey: .comment)
        if emptyLayer { try container.encode(true, forKey: .emptyLayer) }
    }
}
