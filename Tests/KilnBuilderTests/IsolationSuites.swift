import Testing

/// The suites that build in every isolation mode (corpus parity, the Debian base, mounts,
/// the stand-in Pods, chroot, rootless), run one after another: each runs dozens of builds,
/// debootstraps or docker loads, and together at once they starve the rest of the test run
/// on 2 cores (registries stop answering in time, so tests of fallbacks see them).
@Suite("isolation modes, one suite at a time", .serialized)
enum IsolationSuites {}
