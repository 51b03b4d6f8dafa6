/// The pre-defined annotation keys of the OCI image spec (`annotations.go`), for
/// `Descriptor.annotations`, `Manifest.annotations` and `Index.annotations`.
public enum AnnotationKey {
    /// `org.opencontainers.image.created`: RFC 3339 date and time the image was built.
    public static let created = "org.opencontainers.image.created"
    /// `org.opencontainers.image.authors`: contact details of the people responsible for the image.
    public static let authors = "org.opencontainers.image.authors"
    /// `org.opencontainers.image.url`: where to find more information on the image.
    public static let url = "org.opencontainers.image.url"
    /// `org.opencontainers.image.documentation`: where to find the image's documentation.
    public static let documentation = "org.opencontainers.image.documentation"
    /// `org.opencontainers.image.source`: where to find the source code the image was built from.
    public static let source = "org.opencontainers.image.source"
    /// `org.opencontainers.image.version`: version of the packaged software.
    public static let version = "org.opencontainers.image.version"
    /// `org.opencontainers.image.revision`: source control revision of the packaged software.
    public static let revision = "org.opencontainers.image.revision"
    /// `org.opencontainers.image.vendor`: the distributing entity.
    public static let vendor = "org.opencontainers.image.vendor"
    /// `org.opencontainers.image.licenses`: SPDX license expression of the contained software.
    public static let licenses = "org.opencontainers.image.licenses"
    /// `org.opencontainers.image.ref.name`: the tag of a manifest inside an OCI layout's `index.json`.
    public static let refName = "org.opencontainers.image.ref.name"
    /// `org.opencontainers.image.title`: human-readable title of the image.
    public static let title = "org.opencontainers.image.title"
    /// `org.opencontainers.image.description`: human-readable description of the software.
    public static let description = "org.opencontainers.image.description"
    /// `org.opencontainers.image.base.digest`: manifest digest of the image this one is built on.
    public static let baseImageDigest = "org.opencontainers.image.base.digest"
    /// `org.opencontainers.image.base.name`: reference of the image this one is built on.
    public static let baseImageName = "org.opencontainers.image.base.name"
}
