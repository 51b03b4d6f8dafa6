/// A tar stream stage that lowers every modification time above `epoch` to `epoch`, and
/// passes everything else through byte for byte: the `rewrite-timestamp` of BuildKit, applied
/// to a finished layer so that the clamp is an output transform, not a step input.
///
/// It edits ustar header `mtime` fields (octal or base-256) and `mtime=` records of PAX
/// extended headers, recomputing sizes and checksums; file data, names, modes, owners and
/// xattrs are untouched. Output depends only on the input and `epoch`.
final class TarTimestampClamp: ByteSink {
    private let epoch: Int64
    private let downstream: any ByteSink
    /// Bytes of the block (or PAX header data) being collected.
    private var pending: [UInt8] = []
    private var state: State = .header

    private enum State {
        /// Expecting a 512-byte header block.
        case header
        /// Passing `remaining` bytes of an entry's data (padding included) through.
        case data(remaining: Int64)
        /// Collecting a PAX header's data of `size` bytes (plus padding) to rewrite it.
        case pax(header: [UInt8], size: Int, padded: Int)
        /// After the end-of-archive blocks: everything passes through.
        case trailer
    }

    init(epoch: Int64, downstream: any ByteSink) {
        self.epoch = epoch
        self.downstream = downstream
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            switch state {
            case .trailer:
                try downstream.write(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                return
            case .data(let remaining):
                let count = Int(min(remaining, Int64(bytes.count - offset)))
                try downstream.write(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
                offset += count
                state = remaining - Int64(count) == 0 ? .header : .data(remaining: remaining - Int64(count))
            case .header:
                let count = min(512 - pending.count, bytes.count - offset)
                pending += bytes[offset..<(offset + count)]
                offset += count
                if pending.count == 512 {
                    let block = pending
                    pending = []
                    try header(block)
                }
            case .pax(let header, let size, let padded):
                let count = min(padded - pending.count, bytes.count - offset)
                pending += bytes[offset..<(offset + count)]
                offset += count
                if pending.count == padded {
                    let data = Array(pending[..<size])
                    pending = []
                    try rewritePAX(header: header, data: data)
                }
            }
        }
    }

    func finish() throws {
        if !pending.isEmpty { try emit(pending) }
        try downstream.finish()
    }

    private func header(_ block: [UInt8]) throws {
        if block.allSatisfy({ $0 == 0 }) {
            // End of archive (two zero blocks); whatever follows is passed through as is.
            try emit(block)
            state = .trailer
            return
        }
        var block = block
        let type = block[156]
        let size = Self.number(block[124..<136])
        if type == UInt8(ascii: "x") || type == UInt8(ascii: "g") {
            let padded = Int((size + 511) / 512 * 512)
            state = .pax(header: block, size: Int(size), padded: padded)
            if padded == 0 { try rewritePAX(header: block, data: []) }
            return
        }
        if Self.number(block[136..<148]) > epoch { Self.setNumber(epoch, in: &block, range: 136..<148) }
        Self.setChecksum(&block)
        try emit(block)
        let hasData = ![UInt8(ascii: "1"), UInt8(ascii: "2"), UInt8(ascii: "3"), UInt8(ascii: "4"),
                        UInt8(ascii: "5"), UInt8(ascii: "6")].contains(type)
        let dataBytes = hasData ? (size + 511) / 512 * 512 : 0
        state = dataBytes > 0 ? .data(remaining: dataBytes) : .header
    }

    /// Writes a PAX header whose `mtime` record is clamped, with its size and checksum fixed.
    private func rewritePAX(header: [UInt8], data: [UInt8]) throws {
        var records: [[UInt8]] = []
        var index = 0
        var parsed = true
        while index < data.count {
            guard let space = data[index...].firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(String(decoding: data[index..<space], as: UTF8.self)),
                  length > 0, index + length <= data.count else {
                parsed = false
                break
            }
            records.append(Array(data[index..<(index + length)]))
            index += length
        }
        var body = data
        if parsed {
            body = []
            for record in records {
                let text = String(decoding: record, as: UTF8.self)
                if let equals = text.firstIndex(of: "="), text[text.index(after: text.firstIndex(of: " ")!)..<equals] == "mtime",
                   let value = Double(text[text.index(after: equals)...].dropLast()), value > Double(epoch) {
                    body += Self.paxRecord(key: "mtime", value: String(epoch))
                } else {
                    body += record
                }
            }
        }
        var block = header
        Self.setNumber(Int64(body.count), in: &block, range: 124..<136)
        if Self.number(block[136..<148]) > epoch { Self.setNumber(epoch, in: &block, range: 136..<148) }
        Self.setChecksum(&block)
        try emit(block)
        try emit(body + [UInt8](repeating: 0, count: (512 - body.count % 512) % 512))
        state = .header
    }

    private func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try downstream.write($0) }
    }

    /// `"<len> key=value\n"`, where `<len>` counts itself.
    static func paxRecord(key: String, value: String) -> [UInt8] {
        let rest = " \(key)=\(value)\n".utf8.count
        var length = rest + 1
        while String(length).utf8.count + rest != length { length = String(length).utf8.count + rest }
        return Array("\(length) \(key)=\(value)\n".utf8)
    }

    /// A numeric header field: octal digits (spaces and NULs around them), or base-256 when
    /// the first byte's high bit is set.
    static func number(_ field: ArraySlice<UInt8>) -> Int64 {
        guard let first = field.first else { return 0 }
        if first & 0x80 != 0 {
            var value: Int64 = Int64(first & 0x3f)
            for byte in field.dropFirst() { value = (value << 8) | Int64(byte) }
            return value
        }
        var value: Int64 = 0
        for byte in field {
            if byte == 0 || (byte == UInt8(ascii: " ") && value != 0) { break }
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "7") { value = value * 8 + Int64(byte - UInt8(ascii: "0")) }
        }
        return value
    }

    /// Writes `value` into a numeric field: octal over the field's own digits (the terminator
    /// kept), or base-256 when it does not fit.
    static func setNumber(_ value: Int64, in block: inout [UInt8], range: Range<Int>) {
        let digits = block[range].prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") || $0 == UInt8(ascii: " ") }.count
        let width = block[range.lowerBound] & 0x80 != 0 ? range.count - 1 : max(digits, range.count - 1)
        let octal = String(value, radix: 8)
        if octal.utf8.count <= width {
            let padded = String(repeating: "0", count: width - octal.utf8.count) + octal
            for (offset, byte) in padded.utf8.enumerated() { block[range.lowerBound + offset] = byte }
            if width < range.count { block[range.lowerBound + width] = 0 }
        } else {
            var remaining = value
            for position in range.reversed() {
                block[position] = UInt8(remaining & 0xff)
                remaining >>= 8
            }
            block[range.lowerBound] = 0x80
        }
    }

    /// The header checksum: the byte sum with the checksum field read as spaces, written as
    /// six octal digits, a NUL and a space.
    static func setChecksum(_ block: inout [UInt8]) {
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + Int($1) }
        let octal = String(sum, radix: 8)
        let text = String(repeating: "0", count: max(0, 6 - octal.utf8.count)) + octal
        for (offset, byte) in text.utf8.enumerated() { block[148 + offset] = byte }
        block[154] = 0
        block[155] = UInt8(ascii: " ")
    }
}
