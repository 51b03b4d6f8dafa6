import Foundation

/// The regular files of an uncompressed tar, found by one pass over its headers: each is a
/// ``FileRegion`` that can be opened later without reading the rest of the archive.
///
/// Reads ustar, PAX (`path`, `size`) and GNU long names: what `docker save`, skopeo, Kiln and
/// GNU tar write for OCI layout archives and docker-archives.
struct TarArchiveIndex: Sendable {
    /// The archive.
    let file: URL
    /// Regular files by path, without a leading `./`.
    let entries: [String: FileRegion]

    /// Indexes the archive at `file`.
    init(file: URL) throws {
        self.file = file
        let stream = try FileRegion(wholeFile: file)
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        var entries: [String: FileRegion] = [:]
        var offset: Int64 = 0
        var pending: (path: String?, size: Int64?, linkTarget: String?) = (nil, nil, nil)
        // Older `docker save` links a repeated layer to its first copy; resolved after the pass.
        var symlinks: [String: String] = [:]
        func fail(_ reason: String) -> ImageError { .malformed(path: file.path, reason: reason) }
        while offset + 512 <= stream.length {
            try handle.seek(toOffset: UInt64(offset))
            guard let header = try handle.read(upToCount: 512), header.count == 512 else { throw fail("truncated header") }
            let block = [UInt8](header)
            if block.allSatisfy({ $0 == 0 }) { break }
            if offset == 0 && block[0] == 0x1f && block[1] == 0x8b {
                throw fail("is compressed; decompress it first (gzip -d)")
            }
            guard Self.checksumMatches(block) else { throw fail("not a tar archive (bad header checksum at \(offset))") }
            let size = try pending.size ?? Self.number(block[124..<136]) ?? { throw fail("bad size at \(offset)") }()
            let dataOffset = offset + 512
            let type = block[156]
            offset = dataOffset + (size + 511) / 512 * 512
            switch type {
            case UInt8(ascii: "x"), UInt8(ascii: "L"):
                try handle.seek(toOffset: UInt64(dataOffset))
                let body = try handle.read(upToCount: Int(size)) ?? Data()
                if type == UInt8(ascii: "L") {
                    pending.path = String(decoding: body.prefix { $0 != 0 }, as: UTF8.self)
                } else {
                    let records = Self.paxRecords(body)
                    if let path = records["path"] { pending.path = path }
                    if let text = records["size"], let value = Int64(text) { pending.size = value }
                    if let target = records["linkpath"] { pending.linkTarget = target }
                }
                continue
            case UInt8(ascii: "g"):
                continue
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                let path = pending.path ?? Self.headerPath(block)
                entries[Self.clean(path)] = FileRegion(file: file, offset: dataOffset, length: size)
            case UInt8(ascii: "2"):
                let path = Self.clean(pending.path ?? Self.headerPath(block))
                let target = pending.linkTarget ?? String(decoding: block[157..<257].prefix { $0 != 0 }, as: UTF8.self)
                symlinks[path] = Self.resolve(target, from: path)
            default:
                break
            }
            pending = (nil, nil, nil)
        }
        for (path, target) in symlinks where entries[path] == nil {
            var resolved = target
            // A short chain at most; anything longer (or a loop) is left unresolved.
            for _ in 0..<8 where entries[resolved] == nil { resolved = symlinks[resolved] ?? resolved }
            if let region = entries[resolved] { entries[path] = region }
        }
        self.entries = entries
    }

    /// The entry at `path`, or an error naming what is missing.
    func region(_ path: String) throws -> FileRegion {
        guard let region = entries[Self.clean(path)] else {
            throw ImageError.malformed(path: file.path, reason: "archive has no \(path)")
        }
        return region
    }

    private static func clean(_ path: String) -> String {
        var path = Substring(path)
        while path.hasPrefix("./") { path = path.dropFirst(2) }
        while path.hasPrefix("/") { path = path.dropFirst() }
        return String(path)
    }

    /// The archive path a link at `path` pointing to `target` names (`..` and `.` folded).
    private static func resolve(_ target: String, from path: String) -> String {
        var components = target.hasPrefix("/") ? [] : path.split(separator: "/").dropLast().map(String.init)
        for component in target.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": _ = components.popLast()
            default: components.append(String(component))
            }
        }
        return components.joined(separator: "/")
    }

    private static func headerPath(_ block: [UInt8]) -> String {
        func field(_ range: Range<Int>) -> String {
            String(decoding: block[range].prefix { $0 != 0 }, as: UTF8.self)
        }
        let name = field(0..<100)
        let isUstar = block[257..<262].elementsEqual("ustar".utf8)
        let prefix = isUstar ? field(345..<500) : ""
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    /// Octal (space or NUL padded) or GNU base-256 numbers.
    private static func number(_ field: ArraySlice<UInt8>) -> Int64? {
        if let first = field.first, first & 0x80 != 0 {
            return field.dropFirst().reduce(Int64(first & 0x7f)) { $0 << 8 | Int64($1) }
        }
        let digits = field.drop { $0 == 0x20 }.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }
        if digits.isEmpty { return 0 }
        return Int64(String(decoding: digits, as: UTF8.self), radix: 8)
    }

    private static func checksumMatches(_ block: [UInt8]) -> Bool {
        guard let recorded = number(block[148..<156]) else { return false }
        var sum: Int64 = 0
        for (index, byte) in block.enumerated() { sum += (148..<156).contains(index) ? 32 : Int64(byte) }
        return sum == recorded
    }

    /// `"<length> <key>=<value>\n"` records of a PAX extended header.
    private static func paxRecords(_ body: Data) -> [String: String] {
        var records: [String: String] = [:]
        let bytes = [UInt8](body)
        var start = 0
        while start < bytes.count, let space = bytes[start...].firstIndex(of: UInt8(ascii: " ")),
              let length = Int(String(decoding: bytes[start..<space], as: UTF8.self)),
              length > space - start + 1, start + length <= bytes.count {
            // The record ends with a newline that is not part of the value.
            let record = bytes[(space + 1)..<(start + length - 1)]
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[..<equals], as: UTF8.self)] =
                    String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            start += length
        }
        return records
    }
}
