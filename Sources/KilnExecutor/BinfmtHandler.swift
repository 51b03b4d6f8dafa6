import Foundation

/// One binfmt_misc handler as the kernel lists it (`/proc/sys/fs/binfmt_misc/NAME`): which
/// executables it takes (a magic and mask at an offset, or a file extension) and the
/// interpreter the kernel runs them with.
public struct BinfmtHandler: Sendable, Hashable {
    /// The entry's file name (`qemu-aarch64`).
    public var name: String
    /// Whether the kernel uses it (`enabled`, else `disabled`).
    public var isEnabled: Bool
    /// The interpreter's path, as registered.
    public var interpreter: String
    /// The flags letters (`P`, `O`, `C`, `F`).
    public var flags: String
    /// Where in the file the magic is compared.
    public var offset: Int
    /// The bytes a file must have at ``offset`` (after masking); nil for an extension handler.
    public var magic: [UInt8]?
    /// Which bits of the magic are compared; all of them when nil.
    public var mask: [UInt8]?

    /// A handler from its parts.
    public init(name: String, isEnabled: Bool, interpreter: String, flags: String, offset: Int = 0,
                magic: [UInt8]?, mask: [UInt8]? = nil) {
        self.name = name
        self.isEnabled = isEnabled
        self.interpreter = interpreter
        self.flags = flags
        self.offset = offset
        self.magic = magic
        self.mask = mask
    }

    /// Whether the kernel opened the interpreter when the handler was registered (flag F,
    /// fix-binary): only then does it run inside a container's root filesystem, where the
    /// interpreter's path does not exist.
    public var fixesBinary: Bool { flags.contains("F") }

    /// Parses an entry's text: `enabled`, `interpreter PATH`, `flags: LETTERS`, `offset N`,
    /// `magic HEX`, `mask HEX` (or `extension .EXT`), one per line. Nil when it is no handler
    /// (`register`, `status`) or a line is malformed.
    public init?(name: String, entry: String) {
        var isEnabled: Bool?
        var interpreter: String?
        var flags = ""
        var offset = 0
        var magic: [UInt8]?
        var mask: [UInt8]?
        for line in entry.split(separator: "\n") {
            let (key, value) = Self.field(line)
            switch key {
            case "enabled": isEnabled = true
            case "disabled": isEnabled = false
            case "interpreter": interpreter = value
            case "flags:": flags = value
            case "offset":
                guard let number = Int(value) else { return nil }
                offset = number
            case "magic":
                guard let bytes = Self.bytes(hex: value) else { return nil }
                magic = bytes
            case "mask":
                guard let bytes = Self.bytes(hex: value) else { return nil }
                mask = bytes
            default: continue
            }
        }
        guard let isEnabled, let interpreter else { return nil }
        self.init(name: name, isEnabled: isEnabled, interpreter: interpreter, flags: flags, offset: offset, magic: magic, mask: mask)
    }

    /// Whether the kernel would hand a file starting with `header` to this handler (enabled
    /// or not): its masked bytes at ``offset`` equal the masked magic.
    public func matches(header: [UInt8]) -> Bool {
        guard let magic, !magic.isEmpty, offset >= 0, header.count >= offset + magic.count else { return false }
        for (index, expected) in magic.enumerated() {
            let bits = mask.flatMap { index < $0.count ? $0[index] : nil } ?? 0xff
            if header[offset + index] & bits != expected & bits { return false }
        }
        return true
    }

    private static func field(_ line: Substring) -> (String, String) {
        guard let space = line.firstIndex(of: " ") else { return (String(line), "") }
        return (String(line[..<space]), line[line.index(after: space)...].trimmingCharacters(in: .whitespaces))
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
