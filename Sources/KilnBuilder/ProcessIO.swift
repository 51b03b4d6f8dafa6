import KilnStorage

/// The bytes this process has read and written through system calls (`rchar`/`wchar` of
/// `/proc/self/io`: files, pipes and sockets alike, cached or not), to say what a step cost.
public struct ProcessIO: Sendable, Hashable, Codable {
    /// Bytes read.
    public var readBytes: Int64
    /// Bytes written.
    public var writtenBytes: Int64

    /// The counters now; nil where `/proc/self/io` cannot be read.
    static func current() -> ProcessIO? {
        guard let text = ProcFile.read("/proc/self/io") else { return nil }
        var fields: [Substring: Int64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, let value = Int64(parts[1].trimmingCharacters(in: .whitespaces)) { fields[parts[0]] = value }
        }
        guard let read = fields["rchar"], let written = fields["wchar"] else { return nil }
        return ProcessIO(readBytes: read, writtenBytes: written)
    }

    /// What happened between `earlier` and these counters.
    func since(_ earlier: ProcessIO) -> ProcessIO {
        ProcessIO(readBytes: readBytes - earlier.readBytes, writtenBytes: writtenBytes - earlier.writtenBytes)
    }
}
