/// The `oci-layout` file at the root of an OCI image layout, and the layout's fixed names.
public struct ImageLayout: OCIDocument, Hashable {
    /// The layout version; Kiln writes ``currentVersion``.
    public var imageLayoutVersion: String

    /// Creates the header for ``currentVersion``.
    public init(imageLayoutVersion: String = ImageLayout.currentVersion) {
        self.imageLayoutVersion = imageLayoutVersion
    }

    /// `1.0.0`, the only version the spec defines.
    public static let currentVersion = "1.0.0"
    /// `oci-layout`: the name of this file.
    public static let fileName = "oci-layout"
    /// `index.json`: the layout's entry point.
    public static let indexFileName = "index.json"
    /// `blobs`: the content-addressed directory (`blobs/<algorithm>/<encoded>`).
    public static let blobsDirectoryName = "blobs"

    /// Checks the version is one the schema allows (only `1.0.0`).
    public func validate() throws(ValidationError) {
        guard imageLayoutVersion == ImageLayout.currentVersion else {
            throw ValidationError(
                field: "imageLayoutVersion", reason: "must be \(ImageLayout.currentVersion), got \"\(imageLayoutVersion)\"")
        }
    }
}
