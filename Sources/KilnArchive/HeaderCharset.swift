#if canImport(Glibc)
import Glibc
#endif

/// libarchive converts tar header strings (PAX `path`, `linkpath`, …) through the current
/// locale's charset. A process in the default "C" locale cannot convert non-ASCII names and
/// libarchive 3.6 then fails (or crashes) on them, so tar work runs with a UTF-8 `LC_CTYPE`
/// set for the calling thread only (`uselocale`), leaving the process locale alone.
enum HeaderCharset {
    /// Created once; `newlocale` objects are immutable and safe to share between threads.
    nonisolated(unsafe) private static let utf8: locale_t? = newlocale(LC_CTYPE_MASK, "C.UTF-8", nil)

    /// Runs `body` with a UTF-8 thread locale (or the current one if C.UTF-8 is missing).
    static func withUTF8<T>(_ body: () throws -> T) rethrows -> T {
        guard let utf8 else { return try body() }
        let previous = uselocale(utf8)
        defer { uselocale(previous) }
        return try body()
    }
}
