import Glibc

/// Linux calls that Swift's Glibc module does not import (`<sys/xattr.h>`, `<sys/mount.h>`,
/// `copy_file_range`): resolved once from libc with `dlsym`, so no C shim target is needed.
enum LinuxCalls {
    private typealias ListXattr = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<CChar>?, Int) -> Int
    private typealias GetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
    private typealias SetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32
    private typealias RemoveXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>) -> Int32
    private typealias CopyFileRange = @convention(c) (Int32, UnsafeMutablePointer<Int64>?, Int32, UnsafeMutablePointer<Int64>?, Int, UInt32) -> Int
    private typealias Statx = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UInt32, UnsafeMutableRawPointer) -> Int32
    private typealias Mount = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafePointer<CChar>, UInt, UnsafeRawPointer?) -> Int32
    private typealias Unmount = @convention(c) (UnsafePointer<CChar>, Int32) -> Int32

    private static func resolve<F>(_ name: String, as type: F.Type) -> F {
        guard let symbol = dlsym(nil, name) else { fatalError("libc has no \(name)") }
        return unsafeBitCast(symbol, to: type)
    }

    nonisolated(unsafe) private static let listXattr = resolve("llistxattr", as: ListXattr.self)
    nonisolated(unsafe) private static let getXattr = resolve("lgetxattr", as: GetXattr.self)
    nonisolated(unsafe) private static let setXattr = resolve("lsetxattr", as: SetXattr.self)
    nonisolated(unsafe) private static let removeXattr = resolve("lremovexattr", as: RemoveXattr.self)
    nonisolated(unsafe) private static let copyFileRangeFunction = resolve("copy_file_range", as: CopyFileRange.self)
    nonisolated(unsafe) private static let statxFunction = resolve("statx", as: Statx.self)
    nonisolated(unsafe) private static let mountFunction = resolve("mount", as: Mount.self)
    nonisolated(unsafe) private static let unmountFunction = resolve("umount2", as: Unmount.self)

    /// `UTIME_OMIT` for `utimensat`: leave this time as it is.
    static let utimeOmit = (1 << 30) - 2
    /// `MNT_DETACH` for `umount2`: lazy unmount.
    static let detach: Int32 = 2

    /// `llistxattr(2)`.
    static func llistxattr(_ path: String, _ list: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int {
        listXattr(path, list, size)
    }

    /// `lgetxattr(2)`.
    static func lgetxattr(_ path: String, _ name: String, _ value: UnsafeMutableRawPointer?, _ size: Int) -> Int {
        getXattr(path, name, value, size)
    }

    /// `lsetxattr(2)`.
    static func lsetxattr(_ path: String, _ name: String, _ value: UnsafeRawPointer?, _ size: Int, _ flags: Int32) -> Int32 {
        setXattr(path, name, value, size, flags)
    }

    /// `lremovexattr(2)`.
    static func lremovexattr(_ path: String, _ name: String) -> Int32 {
        removeXattr(path, name)
    }

    /// `copy_file_range(2)` from and to the current file offsets.
    static func copyFileRange(_ input: Int32, _ output: Int32, _ length: Int) -> Int {
        copyFileRangeFunction(input, nil, output, nil, length, 0)
    }

    /// `statx(2)` into a raw `struct statx` buffer (256 bytes).
    static func statx(_ directoryFD: Int32, _ path: String, _ flags: Int32, _ mask: UInt32,
                      _ buffer: UnsafeMutableRawPointer) -> Int32 {
        statxFunction(directoryFD, path, flags, mask, buffer)
    }

    /// `mount(2)`.
    static func mount(source: String, target: String, type: String, flags: UInt = 0, data: String) -> Int32 {
        data.withCString { mountFunction(source, target, type, flags, $0) }
    }

    /// `umount2(2)`.
    static func umount2(_ target: String, _ flags: Int32) -> Int32 {
        unmountFunction(target, flags)
    }
}
