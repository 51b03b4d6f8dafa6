import Foundation
import KilnImage
import KilnOCI

/// The text `kiln inspect` prints: a block of `Key: value` lines, then a layers table that
/// pairs each layer with the history step that made it.
struct ImageSummary {
    let text: String

    init(_ image: any Image) throws {
        let manifest = try image.manifest()
        let config = try image.config()
        let run = config.config
        var lines: [(String, String)] = [
            ("Digest", try image.digest().description),
            ("MediaType", (manifest.mediaType ?? .ociManifest).rawValue),
            ("Config", "\(manifest.config.digest) (\(manifest.config.mediaType))"),
            ("Platform", config.platform.description),
        ]
        func add(_ key: String, _ value: String?) {
            if let value, !value.isEmpty { lines.append((key, value)) }
        }
        func json(_ words: [String]) -> String? {
            words.isEmpty ? nil : String(decoding: (try? CanonicalJSON.encode(words)) ?? Data(), as: UTF8.self)
        }
        add("Created", config.created)
        add("Author", config.author)
        add("User", run.user)
        add("WorkingDir", run.workingDir)
        add("Entrypoint", json(run.entrypoint))
        add("Cmd", json(run.cmd))
        add("StopSignal", run.stopSignal)
        add("ExposedPorts", run.exposedPorts.sorted().joined(separator: ", "))
        add("Volumes", run.volumes.sorted().joined(separator: ", "))
        for entry in run.env { add("Env", entry) }
        for (key, value) in run.labels.sorted(by: { $0.key < $1.key }) { add("Label", "\(key)=\(value)") }
        var text = lines.map { "\(($0.0 + ":").padding(toLength: 14, withPad: " ", startingAt: 0))\($0.1)\n" }.joined()

        // History entries that made a layer line up with the layers, in order.
        let creators = config.history.filter { !$0.emptyLayer }.map { $0.createdBy ?? "" }
        let rows = manifest.layers.enumerated().map { index, layer in
            [layer.digest.description, "\(layer.size)", layer.mediaType.rawValue,
             index < creators.count ? creators[index] : ""]
        }
        text += "Layers:\n"
        text += Self.table(header: ["DIGEST", "SIZE", "MEDIA TYPE", "CREATED BY"], rows: rows)
        self.text = text
    }

    /// Rows under a header, columns padded to their widest cell, each line indented by two spaces.
    static func table(header: [String], rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            let cells = row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }
            return "  " + cells.joined(separator: "  ") + "\n"
        }.joined()
    }
}
