import Foundation

/// A failure of a command's work (not of its usage): ArgumentParser prints it as
/// `Error: <description>` without the usage text a `ValidationError` brings.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }

    /// `error` in words. Kiln's own errors describe themselves; Foundation's file errors would
    /// print as an `NSError` dump, so they become `PATH: reason`.
    init(describing error: any Error) {
        guard let cocoa = error as? CocoaError else {
            self.init("\(error)")
            return
        }
        let path = cocoa.filePath ?? cocoa.url?.path
        let underlying = (cocoa.userInfo[NSUnderlyingErrorKey] as? NSError).map { error in
            error.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32(error.code))) : error.localizedDescription
        }
        let reason = underlying ?? cocoa.localizedDescription
        self.init(path.map { "\($0): \(reason)" } ?? reason)
    }
}
