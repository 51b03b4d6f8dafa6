import Foundation

/// The one list of what a step gets mounted, and where: the OCI runtime mounts it over mount
/// points created here before it starts (so Kiln knows exactly which paths exist only because
/// of the sandbox and the snapshotter can leave them out of the layer); chroot isolation, which
/// cannot mount, places each into the rootfs itself (``ChrootPlacement``).
enum MountTargets {
    /// What is mounted at a target.
    enum Content {
        /// procfs.
        case proc
        /// The step's /dev: the standard device nodes, pts, shm and mqueue.
        case devices
        /// sysfs (read-only).
        case sys
        /// A generated /etc file (``GeneratedEtcFiles``), by its container path.
        case etcFile(String)
        /// One of the step's extra mounts.
        case step(StepMount)
    }

    /// A mount point: a directory, or a file (for file bind mounts and the /etc files).
    struct Target {
        var path: String
        var isDirectory: Bool
        var content: Content
    }

    /// The targets of a step: the top-level standard filesystems, the generated /etc files and
    /// the extra mounts, in the order they are mounted. Mounts nested in /dev, /proc or /sys
    /// live on those filesystems.
    static func targets(for step: ExecutionStep) -> [Target] {
        var targets = [("/proc", Content.proc), ("/dev", .devices), ("/sys", .sys)].map {
            Target(path: $0.0, isDirectory: true, content: $0.1)
        }
        targets += GeneratedEtcFiles.targets.map { Target(path: $0, isDirectory: false, content: .etcFile($0)) }
        for mount in step.mounts {
            switch mount {
            case .bind(let source, let destination, _):
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory)
                targets.append(Target(path: destination, isDirectory: isDirectory.boolValue, content: .step(mount)))
            case .tmpfs(let destination, _):
                targets.append(Target(path: destination, isDirectory: true, content: .step(mount)))
            }
        }
        return targets
    }

    /// Creates whatever is missing of `targets` under `rootfs` and returns the created paths
    /// (container paths, parents before children).
    ///
    /// A path that crosses a symlink is left to the runtime, which resolves it inside the
    /// rootfs; following it here would resolve against the host.
    static func prepare(_ targets: [Target], in rootfs: URL) throws -> [String] {
        var created: [String] = []
        do {
            try create(targets, in: rootfs, recordingInto: &created)
        } catch {
            removeUnused(created, in: rootfs)
            throw error
        }
        return created
    }

    private static func create(_ targets: [Target], in rootfs: URL, recordingInto created: inout [String]) throws {
        for target in targets {
            let components = target.path.split(separator: "/").map(String.init)
            var containerPath = ""
            for (index, component) in components.enumerated() {
                containerPath += "/" + component
                let hostPath = rootfs.path + containerPath
                let isLast = index == components.count - 1
                if let type = try? FileManager.default.attributesOfItem(atPath: hostPath)[.type] as? FileAttributeType {
                    if type == .typeSymbolicLink { break }
                    continue
                }
                if isLast && !target.isDirectory {
                    guard FileManager.default.createFile(atPath: hostPath, contents: nil,
                                                         attributes: [.posixPermissions: 0o644]) else {
                        throw ExecutorError.cannotCreateMountTarget(target.path)
                    }
                } else {
                    try FileManager.default.createDirectory(atPath: hostPath, withIntermediateDirectories: false,
                                                            attributes: [.posixPermissions: 0o755])
                }
                created.append(containerPath)
            }
        }
    }

    /// Removes the `created` paths that are still empty, children first, so the rootfs holds
    /// only what the step itself changed. A path the step filled, or replaced by something
    /// else, stays. Nothing is followed through a symlink the step may have planted.
    static func removeUnused(_ created: [String], in rootfs: URL) {
        let fm = FileManager.default
        for path in created.reversed() {
            let components = path.split(separator: "/")
            var parent = rootfs.path
            var parentsAreDirectories = true
            for component in components.dropLast() {
                parent += "/" + component
                let type = (try? fm.attributesOfItem(atPath: parent))?[.type] as? FileAttributeType
                if type != .typeDirectory {
                    parentsAreDirectories = false
                    break
                }
            }
            let hostPath = rootfs.path + path
            guard parentsAreDirectories, let attributes = try? fm.attributesOfItem(atPath: hostPath) else { continue }
            switch attributes[.type] as? FileAttributeType {
            case .typeDirectory?:
                if (try? fm.contentsOfDirectory(atPath: hostPath))?.isEmpty == true { try? fm.removeItem(atPath: hostPath) }
            case .typeRegular?:
                if (attributes[.size] as? Int) == 0 { try? fm.removeItem(atPath: hostPath) }
            default:
                continue
            }
        }
    }
}
