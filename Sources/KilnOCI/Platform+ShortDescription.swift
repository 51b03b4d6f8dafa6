extension Platform {
    /// `os/architecture[/variant]` after normalisation, without a variant that is the
    /// architecture's default (arm64's `v8`): `linux/arm64`, `linux/arm/v7`, `linux/amd64/v3`,
    /// as containerd formats a normalised platform and as users write `--platform`. Step
    /// records and messages use it; ``description`` keeps the variant.
    public var shortDescription: String {
        let normalized = normalized
        let variant = normalized.architecture == "arm64" && normalized.variant == "v8" ? nil : normalized.variant
        return [normalized.os, normalized.architecture, variant ?? ""].filter { !$0.isEmpty }.joined(separator: "/")
    }
}
