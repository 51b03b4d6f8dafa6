import Foundation

/// Compares Kiln's image with buildah's for the corpus: every config field of
/// ``BuildCorpusImage/configFields``, the history and layer counts, and the final rootfs.
enum BuildCorpusComparison {
    /// Paths buildah's chroot RUN leaves behind as empty mount points: it bind-mounts /dev,
    /// /proc, /sys and /run, and the generated /etc/hosts, /etc/hostname and /etc/resolv.conf,
    /// over files and directories it creates empty in the rootfs, and commits them. Docker and
    /// BuildKit keep them out of layers (issue 5: "never land in a layer"); one side having one
    /// of these empty where the other has nothing is not a difference.
    static let runtimeMountPoints: Set<String> = [
        "/dev", "/proc", "/sys", "/run", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf",
    ]

    /// One line per difference, empty when the images agree. `ignoring` holds the fixture's
    /// intended differences (field names, `history`, `layers`, `file:/path` for that exact path).
    static func mismatches(kiln: BuildCorpusBuiltImage, buildah: BuildCorpusBuiltImage, ignoring: Set<String>) -> [String] {
        var lines: [String] = []
        for field in BuildCorpusImage.configFields where !ignoring.contains(field) {
            let mine = kiln.image.config[field] ?? "absent", theirs = buildah.image.config[field] ?? "absent"
            if mine != theirs { lines.append("\(field): kiln \(mine), buildah \(theirs)") }
        }
        if !ignoring.contains("history"), kiln.image.historyCount != buildah.image.historyCount {
            lines.append("history entries: kiln \(kiln.image.historyCount), buildah \(buildah.image.historyCount)")
        }
        if !ignoring.contains("layers"), kiln.image.layerCount != buildah.image.layerCount {
            lines.append("layers: kiln \(kiln.image.layerCount), buildah \(buildah.image.layerCount)")
        }
        let ignoredPaths = ignoring.filter { $0.hasPrefix("file:") }.map { String($0.dropFirst("file:".count)) }
        for path in Set(kiln.files.keys).union(buildah.files.keys).sorted() {
            if ignoredPaths.contains(path) { continue }
            let mine = kiln.files[path], theirs = buildah.files[path]
            if mine == theirs { continue }
            if runtimeMountPoints.contains(path), mine == nil || theirs == nil,
               isEmpty(path, in: mine == nil ? buildah : kiln) {
                continue
            }
            lines.append("\(path): kiln \(mine ?? "missing"), buildah \(theirs ?? "missing")")
        }
        return lines
    }

    /// Whether `path` is an empty regular file or a directory with nothing under it.
    private static func isEmpty(_ path: String, in image: BuildCorpusBuiltImage) -> Bool {
        guard let description = image.files[path] else { return false }
        if description.hasPrefix("file ") { return description.contains(" size=0 ") }
        return description.hasPrefix("dir ") && !image.files.keys.contains { $0.hasPrefix(path + "/") }
    }
}
