import Foundation
import KilnArchive
import KilnStorage
import KilnOCI

/// Writes the outer tar of an OCI layout archive or a docker-archive: a handful of regular
/// files and directories with fixed owners, modes and times, so equal content gives equal bytes.
///
/// Layers inside are copied verbatim as entries; this is not the layer writer (KilnArchive's),
/// which handles arbitrary file trees.
final class TarArchiveWriter {
    private let output: StagedFile
    private let modificationTime: Int64
    private static let blockSize = 512

    /// Writes into `output`; every entry gets `modificationTime` (seconds since the epoch).
    /// Passed per chunk of file data: closing it (a cancelled build) stops the archive.
    private let gate: WriteGate

    init(output: StagedFile, modificationTime: Int64 = 0, gate: WriteGate = .unbounded) {
        self.gate = gate
        self.output = output
        self.modificationTime = modificationTime
    }

    /// Adds a directory entry (`path` without a trailing slash).
    func addDirectory(_ path: String) throws {
        try writeHeader(path: path + "/", size: 0, mode: 0o755, type: UInt8(ascii: "5"))
    }

    /// Adds a file holding `data`.
    func addFile(_ path: String, data: Data) throws {
        try writeHeader(path: path, size: Int64(data.count), mode: 0o644, type: UInt8(ascii: "0"))
        try output.write(data)
        try pad(Int64(data.count))
    }

    /// Adds a file of exactly `size` bytes read from `stream`; returns the digest of what was written.
    @discardableResult
    func addFile(_ path: String, size: Int64, from stream: any BlobStream) throws -> Digest {
        try writeHeader(path: path, size: size, mode: 0o644, type: UInt8(ascii: "0"))
        let (digest, written) = try stream.forEachChunk {
            try gate.passBytes($0.count)
            try output.write($0)
        }
        guard written == size else {
            throw ImageError.malformed(path: path, reason: "expected \(size) bytes, read \(written)")
        }
        try pad(size)
        return digest
    }

    /// Ends the archive with the two zero blocks tar readers expect.
    func finish() throws {
        try output.write(Data(count: 2 * Self.blockSize))
    }

    private func pad(_ size: Int64) throws {
        let remainder = Int(size % Int64(Self.blockSize))
        if remainder != 0 { try output.write(Data(count: Self.blockSize - remainder)) }
    }

    private func writeHeader(path: String, size: Int64, mode: Int, type: UInt8) throws {
        var header = [UInt8](repeating: 0, count: Self.blockSize)
        let (prefix, name) = try Self.split(path)
        func put(_ text: [UInt8], at offset: Int) {
            for (index, byte) in text.enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int64, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8)
        }
        put(Array(name.utf8), at: 0)
        put(octal(Int64(mode), width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        if size < 0o77777777777 {
            put(octal(size, width: 12), at: 124)
        } else {
            // GNU base-256: a set high bit, then the size big-endian; read by every modern tar.
            header[124] = 0x80
            for index in 0..<8 { header[135 - index] = UInt8((size >> (8 * index)) & 0xff) }
        }
        put(octal(modificationTime, width: 12), at: 136)
        header[156] = type
        put(Array("ustar\u{0}00".utf8), at: 257)
        put(Array(prefix.utf8), at: 345)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)
        let checksum = header.reduce(0) { $0 + Int64($1) }
        put(octal(checksum, width: 7) + [0], at: 148)
        try header.withUnsafeBytes { try output.write($0) }
    }

    /// ustar keeps names in a 100-byte field plus a 155-byte prefix cut at a slash.
    private static func split(_ path: String) throws -> (prefix: String, name: String) {
        let bytes = Array(path.utf8)
        if bytes.count <= 100 { return ("", path) }
        for cut in stride(from: min(bytes.count - 1, 155), to: 0, by: -1) where bytes[cut] == UInt8(ascii: "/") {
            if bytes.count - cut - 1 <= 100 {
                return (String(decoding: bytes[..<cut], as: UTF8.self), String(decoding: bytes[(cut + 1)...], as: UTF8.self))
            }
        }
        throw ImageError.malformed(path: path, reason: "name too long for a ustar header")
    }
}
