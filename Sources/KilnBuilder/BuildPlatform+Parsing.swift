import KilnDockerfile
import KilnOCI

extension BuildPlatform {
    /// Parses a `--platform` value as BuildKit does: containerd's spellings and normalisation
    /// (`x86_64` → `amd64`, `aarch64` → `arm64`, `arm` → `arm/v7`, an architecture alone means
    /// this OS), arm64's default variant left out, so `TARGETARCH`, `TARGETVARIANT` and
    /// `TARGETPLATFORM` read as BuildKit sets them (`linux/arm64`: arch `arm64`, no variant).
    public init(parsing text: String) throws(PlatformError) {
        let platform = try Platform(parsing: text).normalized
        self.init(os: platform.os, architecture: platform.architecture, variant: platform.nonDefaultVariant ?? "")
    }
}
