import KilnOCI

extension Index {
    /// The entry for `platform`, as ``PlatformMatcher`` ranks them: the platform itself first,
    /// then the closest older variant of its architecture the CPU also runs (arm/v7 runs v6
    /// and v5 images, amd64/v2 runs v1). Entries without a platform (attestations) never match.
    public func bestManifest(for platform: Platform) -> Descriptor? {
        PlatformMatcher(platform).best(in: manifests)
    }
}

extension ResolvedImage {
    /// Throws unless the image's config declares a platform a request for `platform` can use
    /// (``PlatformMatcher``): a single-platform image of another platform is refused rather than
    /// labelled with the platform asked for.
    public func requirePlatform(_ platform: Platform) throws(DistributionError) {
        guard PlatformMatcher(platform).matches(config.platform) else {
            throw .wrongPlatform(reference: reference.description, platform: platform.description,
                                 has: config.platform.description)
        }
    }
}
