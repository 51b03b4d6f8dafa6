import Glibc

/// Linux calls that Swift's Glibc module does not import (`<sys/xattr.h>`, `<sys/mount.h>`,
/// `statx`, `syncfs`, `copy_file_range`): resolved once from libc with `dlsym`, so no C shim target is needed.
enum LinuxCalls {
    private typealias ListXattr = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<CChar>?, Int) -> Int
    private typealias GetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
    private typealias SetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32
    private typealias RemoveXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>) -> Int32
    private typealias CopyFileRange = @convention(c) (Int32, UnsafeMutablePointer<Int64>?, Int32, UnsafeMutablePointer<Int64>?, Int, UInt32) -> Int
    private typealias Statx = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UInt32, UnsafeMutableRawPointer) -> Int32
    private typealias SyncFS = @convention(c) (Int32) -> Int32
    private typealias Mount = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafePointer<CChar>, UInt, UnsafeRawPointer?) -> Int32
    private typealias Unmount = @convention(c) (UnsafePointer<CChar>, Int32) -> Int32
    private typealias FSOpen = @convention(c) (UnsafePointer<CChar>, UInt32) -> Int32
    private typealias FSConfig = @convention(c) (Int32, UInt32, UnsafePointer<CChar>?, UnsafeRawPointer?, Int32) -> Int32
    private typealias FSMount = @convention(c) (Int32, UInt32, UInt32) -> Int32
    private typealias MoveMount = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32

    private static func resolve<F>(_ name: String, as type: F.Type) -> F {
        guard let symbol = dlsym(nil, name) else { fatalError("libc has no \(name)") }
        return unsafeBitCast(symbol, to: type)
    }

    /// A call glibc may lack (the new mount API arrived in 2.36): nil then.
    private static func resolveIfPresent<F>(_ name: String, as type: F.Type) -> F? {
        dlsym(nil, name).map { unsafeBitCast($0, to: type) }
    }

    nonisolated(unsafe) private static let listXattr = resolve("llistxattr", as: ListXattr.self)
    nonisolated(unsafe) private static let getXattr = resolve("lgetxattr", as: GetXattr.self)
    nonisolated(unsafe) private static let setXattr = resolve("lsetxattr", as: SetXattr.self)
    nonisolated(unsafe) private static let removeXattr = resolve("lremovexattr", as: RemoveXattr.self)
    nonisolated(unsafe) private static let copyFileRangeFunction = resolve("copy_file_range", as: CopyFileRange.self)
    nonisolated(unsafe) private static let statxFunction = resolve("statx", as: Statx.self)
    nonisolated(unsafe) private static let syncfsFunction = resolve("syncfs", as: SyncFS.self)
    nonisolated(unsafe) private static let mountFunction = resolve("mount", as: Mount.self)
    nonisolated(unsafe) private static let unmountFunction = resolve("umount2", as: Unmount.self)
    nonisolated(unsafe) private static let fsopenFunction = resolveIfPresent("fsopen", as: FSOpen.self)
    nonisolated(unsafe) private static let fsconfigFunction = resolveIfPresent("fsconfig", as: FSConfig.self)
    nonisolated(unsafe) private static let fsmountFunction = resolveIfPresent("fsmount", as: FSMount.self)
    nonisolated(unsafe) private static let moveMountFunction = resolveIfPresent("move_mount", as: MoveMount.self)

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

    /// `syncfs(2)`.
    static func syncfs(_ fd: Int32) -> Int32 { syncfsFunction(fd) }

    /// `mount(2)`.
    static func mount(source: String, target: String, type: String, flags: UInt = 0, data: String) -> Int32 {
        data.withCString { mountFunction(source, target, type, flags, $0) }
    }

    /// `umount2(2)`.
    static func umount2(_ target: String, _ flags: Int32) -> Int32 {
        unmountFunction(target, flags)
    }

    /// Whether libc has the new mount API (`fsopen`, `fsconfig`, `fsmount`, `move_mount`).
    static var hasMountAPI: Bool {
        fsopenFunction != nil && fsconfigFunction != nil && fsmountFunction != nil && moveMountFunction != nil
    }

    /// `fsopen(2)` with `FSOPEN_CLOEXEC`; -1 with `ENOSYS` where libc lacks it.
    static func fsopen(_ type: String) -> Int32 {
        guard let fsopenFunction else { errno = ENOSYS; return -1 }
        return fsopenFunction(type, 1)
    }

    /// `fsconfig(2)` with `FSCONFIG_SET_STRING` (key = value).
    static func fsconfigSetString(_ fd: Int32, _ key: String, _ value: String) -> Int32 {
        guard let fsconfigFunction else { errno = ENOSYS; return -1 }
        return value.withCString { fsconfigFunction(fd, 1, key, $0, 0) }
    }

    /// `fsconfig(2)` with `FSCONFIG_SET_FLAG` (a key without a value).
    static func fsconfigSetFlag(_ fd: Int32, _ key: String) -> Int32 {
        guard let fsconfigFunction else { errno = ENOSYS; return -1 }
        return fsconfigFunction(fd, 0, key, nil, 0)
    }

    /// `fsconfig(2)` with `FSCONFIG_CMD_CREATE`: makes the superblock.
    static func fsconfigCreate(_ fd: Int32) -> Int32 {
        guard let fsconfigFunction else { errno = ENOSYS; return -1 }
        return fsconfigFunction(fd, 6, nil, nil, 0)
    }

    /// `fsmount(2)` with `FSMOUNT_CLOEXEC`: a detached mount of the configured superblock.
    static func fsmount(_ fd: Int32) -> Int32 {
        guard let fsmountFunction else { errno = ENOSYS; return -1 }
        return fsmountFunction(fd, 1, 0)
    }

    /// `move_mount(2)` of the detached mount `fd` onto `target` (`MOVE_MOUNT_F_EMPTY_PATH`).
    static func moveMount(_ fd: Int32, to target: String) -> Int32 {
        guard let moveMountFunction else { errno = ENOSYS; return -1 }
        return moveMountFunction(fd, "", AT_FDCWD, target, 4)
    }
}
