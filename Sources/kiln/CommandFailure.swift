/// A failure of a command's work (not of its usage): ArgumentParser prints it as
/// `Error: <description>` without the usage text a `ValidationError` brings.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
