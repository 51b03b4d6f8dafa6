/// The version `kiln --version` prints.
enum KilnVersion {
    static let current = "0.1.0"
}
