extension Platform {
    /// `os/architecture[/variant]` after normalisation, without a variant that is the
    /// architecture's default (arm64's `v8`): `linux/arm64`, `linux/arm/v7`, `linux/amd64/v3`,
    /// as containerd formats a normalised platform and as users write `--platform`. Step
    /// records and messages use it; ``description`` keeps the variant.
    public var shortDescription: String {
        let normalized = normalized
        return [normalized.os, normalized.architecture, normalized.nonDefaultVariant ?? ""].filter { !$0.isEmpty }.joined(separator: "/")
    }

    /// The variant, or nil where it is the one the architecture implies anyway (arm64's `v8`,
    /// which BuildKit's `TARGETVARIANT` leaves empty).
    public var nonDefaultVariant: String? {
        architecture == "arm64" && variant == "v8" ? nil : variant
    }
}
