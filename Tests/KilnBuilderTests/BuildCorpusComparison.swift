import Foundation

/// Compares Kiln's image with buildah's for the corpus: every config field of
/// ``BuildCorpusImage/configFields``, the history and layer counts, and the final rootfs.
enum BuildCorpusComparison {
    /// Paths buildah's chroot RUN leaves behind as empty mount points (it bind-mounts /dev,
    /// /proc, /sys and /run into the rootfs and keeps the directories it had to create). Docker
    /// does not put them in layers; a side that has one of these as an empty directory where the
    /// other has nothing is not a difference.
    static let runtimeMountPoints: Set<String> = ["/dev", "/proc", "/sys", "/run"]

    /// One line per difference, empty when the images agree. `ignoring` holds the fixture's
    /// intended differences (field names, `history`, `layers`, `file:/path`).
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
            if ignoredPaths.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) { continue }
            let mine = kiln.files[path], theirs = buildah.files[path]
            if mine == theirs { continue }
            if runtimeMountPoints.contains(path), mine == nil || theirs == nil,
               (mine ?? theirs)?.hasPrefix("dir ") == true, isEmptyDirectory(path, in: mine == nil ? buildah : kiln) {
                continue
            }
            lines.append("\(path): kiln \(mine ?? "missing"), buildah \(theirs ?? "missing")")
        }
        return lines
    }

    private static func isEmptyDirectory(_ path: String, in image: BuildCorpusBuiltImage) -> Bool {
        !image.files.keys.contains { $0.hasPrefix(path + "/") }
    }
}
