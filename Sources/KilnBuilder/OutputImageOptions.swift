import KilnArchive
import KilnOCI

/// The settings of `--output` values that decide the image itself rather than where it goes:
/// `oci-mediatypes=true|false` (BuildKit's name; false writes Docker's schema 2 media types)
/// and `compression=gzip|zstd`. A build makes one image, so every output must agree; they are
/// read before the build starts, together with what they may not be combined with.
public struct OutputImageOptions: Sendable, Hashable {
    /// The media types asked for; nil when no output says.
    public var mediaTypes: MediaTypeFamily?
    /// The layer compression asked for; nil when no output says (`--compression` then decides).
    public var compression: LayerCompression?

    /// What `kiln build --output` writes and the keys each type takes (BuildKit's names;
    /// `local-oci`, `docker-archive` and `image` are BuildKit's other names of the first three).
    public static let acceptedOutputs: [(type: String, keys: Set<String>)] = {
        let image: Set<String> = ["name", "oci-mediatypes", "compression"]
        let file = image.union(["dest"]), registry = image.union(["push"])
        return [("oci", file), ("docker", file), ("registry", registry),
                ("local-oci", file), ("docker-archive", file), ("image", registry)]
    }()

    /// The options of all `outputs` (each `type=…,key=value,…`), which must not disagree.
    public init(outputs: [String]) throws(BuildError) {
        for output in outputs {
            let fields: [String: String]
            do { fields = try OutputFields(parsing: output, accepted: Self.acceptedOutputs).attributes } catch {
                throw BuildError.invalidOption(error.description)
            }
            // BuildKit's `type=image,push=true`: a registry output is always pushed.
            if fields["push"].map({ $0 != "true" }) == true {
                throw BuildError.invalidOption("--output \(output): a registry output is always pushed (push=true or no push key)")
            }
            if let text = fields["oci-mediatypes"] {
                guard let oci = Bool(text) else {
                    throw BuildError.invalidOption("--output \(output): oci-mediatypes must be true or false")
                }
                let family: MediaTypeFamily = oci ? .oci : .docker
                if let mediaTypes, mediaTypes != family {
                    throw BuildError.invalidOption("--output: the outputs disagree on oci-mediatypes; one build writes one image")
                }
                mediaTypes = family
            }
            if let text = fields["compression"] {
                let wanted: LayerCompression
                switch text {
                case "gzip": wanted = .parallelGzip()
                case "zstd": wanted = .zstd()
                default: throw BuildError.invalidOption("--output \(output): compression must be gzip or zstd")
                }
                if let compression, compression != wanted {
                    throw BuildError.invalidOption("--output: the outputs disagree on compression; one build writes one image")
                }
                compression = wanted
            }
        }
    }

    /// Puts the options into `request`: an output's compression overrides `--compression`.
    /// Throws when they cannot be combined (zstd layers with Docker media types).
    public func apply(to request: inout BuildRequest) throws(BuildError) {
        if let mediaTypes { request.mediaTypes = mediaTypes }
        if let compression { request.compression = compression }
        try request.checkMediaTypes()
    }
}
