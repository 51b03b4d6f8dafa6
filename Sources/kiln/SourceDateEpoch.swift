import ArgumentParser

/// `SOURCE_DATE_EPOCH`, the reproducible-builds convention for a fixed build time, as
/// `kiln import` and `kiln build` read it.
enum SourceDateEpoch {
    /// The seconds in `text`; nil when unset or empty, an error when not a non-negative number.
    static func parse(_ text: String?) throws -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw ValidationError("SOURCE_DATE_EPOCH=\(text) is not a number of seconds")
        }
        return value
    }
}
