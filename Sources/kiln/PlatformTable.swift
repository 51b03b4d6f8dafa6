import KilnOCI

/// The platforms of an index as `kiln inspect` and `kiln index create` show them: one row per
/// entry with its platform, manifest digest and size (an entry without a platform shows `-`).
enum PlatformTable {
    /// `  PLATFORM     DIGEST      SIZE  MEDIA TYPE` and a row per entry of `manifests`.
    static func text(_ manifests: [Descriptor]) -> String {
        ImageSummary.table(
            header: ["PLATFORM", "DIGEST", "SIZE", "MEDIA TYPE"],
            rows: manifests.map { [$0.platform?.description ?? "-", $0.digest.description, "\($0.size)", $0.mediaType.rawValue] })
    }
}
