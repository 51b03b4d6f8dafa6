/// One entry of a docker-archive's `manifest.json`: the files of one image inside the tar.
public struct DockerArchiveManifestEntry: Codable, Sendable, Hashable {
    /// Path of the config file inside the archive.
    public var config: String
    /// Tags the image is loaded under (`name:tag`, familiar form); may be empty.
    public var repoTags: [String]
    /// Paths of the uncompressed layer tars, base first.
    public var layers: [String]

    /// An entry naming the files of one image.
    public init(config: String, repoTags: [String], layers: [String]) {
        self.config = config
        self.repoTags = repoTags
        self.layers = layers
    }

    private enum CodingKeys: String, CodingKey {
        case config = "Config", repoTags = "RepoTags", layers = "Layers"
    }

    /// Decodes an entry; `RepoTags` may be null or absent for untagged images.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        config = try container.decode(String.self, forKey: .config)
        repoTags = try container.decodeIfPresent([String].self, forKey: .repoTags) ?? []
        layers = try container.decode([String].self, forKey: .layers)
    }
}
