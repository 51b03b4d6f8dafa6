import KilnOCI

extension Index {
    /// The entry for `platform`, as containerd's matcher picks it: an exact match (OS,
    /// architecture, variant after normalisation) first; else, for 32-bit ARM, the closest
    /// older variant the CPU also runs (v7 runs v6 and v5 images). Entries without a platform
    /// (attestations) never match.
    public func bestManifest(for platform: Platform) -> Descriptor? {
        if let exact = manifest(for: platform) { return exact }
        let wanted = platform.normalized
        guard wanted.architecture == "arm", let variant = wanted.variant, variant.hasPrefix("v"),
              let level = Int(variant.dropFirst()) else { return nil }
        for older in stride(from: level - 1, through: 5, by: -1) {
            var candidate = wanted
            candidate.variant = "v\(older)"
            if let match = manifest(for: candidate) { return match }
        }
        return nil
    }
}
