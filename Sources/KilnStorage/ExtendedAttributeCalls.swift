import Glibc

/// The `<sys/xattr.h>` calls, which Swift's Glibc module does not import: resolved once from
/// libc with `dlsym` so that no C shim target is needed.
enum ExtendedAttributeCalls {
    private typealias List = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<CChar>?, Int) -> Int
    private typealias Get = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
    private typealias Set = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32

    private static func resolve<F>(_ name: String, as type: F.Type) -> F {
        guard let symbol = dlsym(nil, name) else { fatalError("libc has no \(name)") }
        return unsafeBitCast(symbol, to: type)
    }

    nonisolated(unsafe) private static let listFunction = resolve("llistxattr", as: List.self)
    nonisolated(unsafe) private static let getFunction = resolve("lgetxattr", as: Get.self)
    nonisolated(unsafe) private static let setFunction = resolve("lsetxattr", as: Set.self)

    /// `llistxattr(2)`.
    static func llistxattr(_ path: String, _ list: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int {
        listFunction(path, list, size)
    }

    /// `lgetxattr(2)`.
    static func lgetxattr(_ path: String, _ name: String, _ value: UnsafeMutableRawPointer?, _ size: Int) -> Int {
        getFunction(path, name, value, size)
    }

    /// `lsetxattr(2)`.
    static func lsetxattr(_ path: String, _ name: String, _ value: UnsafeRawPointer?, _ size: Int, _ flags: Int32) -> Int32 {
        setFunction(path, name, value, size, flags)
    }
}
