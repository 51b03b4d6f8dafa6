import Foundation

/// The platform an image runs on: operating system, CPU architecture and variant.
///
/// Parsing and normalisation follow containerd's `platforms` package, so `linux/x86_64`,
/// `linux/amd64` and `amd64` all name the same platform and `linux/arm64` means `linux/arm64/v8`.
public struct Platform: Codable, Sendable, Hashable, CustomStringConvertible {
    /// CPU architecture in Go's spelling (`amd64`, `arm64`, `arm`, `ppc64le`, `s390x`, ...).
    public var architecture: String
    /// Operating system in Go's spelling (`linux`, `windows`, ...).
    public var os: String
    /// Operating system version, used by Windows images (`10.0.17763.1234`).
    public var osVersion: String?
    /// Required operating system features (`win32k`).
    public var osFeatures: [String]
    /// CPU variant (`v7` for arm, `v8` for arm64, `v3` for amd64 micro-architecture levels).
    public var variant: String?
    /// Required CPU features (reserved by the OCI spec, used by Docker manifest lists).
    public var features: [String]

    /// Creates a platform from already-normalised parts.
    public init(
        os: String, architecture: String, variant: String? = nil, osVersion: String? = nil,
        osFeatures: [String] = [], features: [String] = []
    ) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
        self.osVersion = osVersion
        self.osFeatures = osFeatures
        self.features = features
    }

    private enum CodingKeys: String, CodingKey {
        case architecture, os, variant, features
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    /// Decodes the JSON form; absent optional fields become nil or empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        architecture = try container.decode(String.self, forKey: .architecture)
        os = try container.decode(String.self, forKey: .os)
        osVersion = try container.decodeIfPresent(String.self, forKey: .osVersion)
        osFeatures = try container.decodeIfPresent([String].self, forKey: .osFeatures) ?? []
        variant = try container.decodeIfPresent(String.self, forKey: .variant)
        features = try container.decodeIfPresent([String].self, forKey: .features) ?? []
    }

    /// Encodes the JSON form, omitting nil and empty optional fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(architecture, forKey: .architecture)
        try container.encode(os, forKey: .os)
        if let osVersion, !osVersion.isEmpty { try container.encode(osVersion, forKey: .osVersion) }
        if !osFeatures.isEmpty { try container.encode(osFeatures, forKey: .osFeatures) }
        if let variant, !variant.isEmpty { try container.encode(variant, forKey: .variant) }
        if !features.isEmpty { try container.encode(features, forKey: .features) }
    }

    /// `os/architecture[/variant]`, the form `--platform` takes.
    public var description: String {
        [os, architecture, variant ?? ""].filter { !$0.isEmpty }.joined(separator: "/")
    }

    /// Checks the fields the schema requires to be present are not empty either.
    func validate() throws(ValidationError) {
        if architecture.isEmpty { throw ValidationError(field: "architecture", reason: "must not be empty") }
        if os.isEmpty { throw ValidationError(field: "os", reason: "must not be empty") }
    }
}

extension Platform {
    /// Parses a platform specifier as containerd does: `os`, `arch`, `os/arch`, `os/arch/variant`,
    /// with an optional OS version in parentheses (`windows(10.0.17763)/amd64`).
    ///
    /// A single component is an OS if it is a known one (the architecture is then the host's),
    /// else an architecture (the OS is then the host's). The result is normalised.
    public init(parsing specifier: String) throws(PlatformError) {
        guard !specifier.contains("*") else { throw PlatformError.wildcard(specifier) }
        var remaining = specifier
        var osVersion: String?
        if let open = remaining.firstIndex(of: "("), let close = remaining.firstIndex(of: ")"), open < close {
            let slash = remaining.firstIndex(of: "/") ?? remaining.endIndex
            guard close < slash, remaining.index(after: close) == slash else {
                throw PlatformError.invalidComponent(specifier, component: String(remaining[open...close]))
            }
            osVersion = String(remaining[remaining.index(after: open)..<close])
            remaining.removeSubrange(open...close)
        }
        let parts = remaining.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for part in parts where !Platform.isSpecifierComponent(part) {
            throw PlatformError.invalidComponent(specifier, component: part)
        }
        let host = Platform.host
        switch parts.count {
        case 1:
            let os = Platform.normalizeOS(parts[0])
            if Platform.knownOperatingSystems.contains(os) {
                self.init(os: os, architecture: host.architecture, variant: host.variant, osVersion: osVersion)
                return
            }
            let (architecture, variant) = Platform.normalizeArchitecture(parts[0], variant: "")
            guard Platform.knownArchitectures.contains(architecture) else {
                throw PlatformError.unknownOSOrArchitecture(specifier)
            }
            self.init(os: host.os, architecture: architecture, variant: Platform.defaultVariant(architecture, variant))
        case 2, 3:
            let (architecture, variant) = Platform.normalizeArchitecture(parts[1], variant: parts.count == 3 ? parts[2] : "")
            self.init(os: Platform.normalizeOS(parts[0]), architecture: architecture,
                      variant: Platform.defaultVariant(architecture, variant), osVersion: osVersion)
        default:
            throw PlatformError.tooManyComponents(specifier)
        }
    }

    /// The same platform in canonical spelling (`x86_64` → `amd64`, `aarch64` → `arm64`,
    /// `armhf` → `arm/v7`, arm defaults to `v7`, arm64 defaults to `v8`).
    public var normalized: Platform {
        var copy = self
        copy.os = Platform.normalizeOS(os)
        let (architecture, variant) = Platform.normalizeArchitecture(architecture, variant: variant ?? "")
        copy.architecture = architecture
        copy.variant = Platform.defaultVariant(architecture, variant)
        return copy
    }

    /// Whether an image built for `other` is what a request for this platform means: OS,
    /// architecture and variant equal after normalisation (OS version and features are not compared).
    public func matches(_ other: Platform) -> Bool {
        let (lhs, rhs) = (normalized, other.normalized)
        return lhs.os == rhs.os && lhs.architecture == rhs.architecture && (lhs.variant ?? "") == (rhs.variant ?? "")
    }

    /// The platform of the machine Kiln runs on.
    public static let host: Platform = {
        #if os(Linux)
        let os = "linux"
        #elseif os(macOS)
        let os = "darwin"
        #else
        let os = "unknown"
        #endif
        #if arch(x86_64)
        return Platform(os: os, architecture: "amd64")
        #elseif arch(arm64)
        return Platform(os: os, architecture: "arm64", variant: "v8")
        #elseif arch(arm)
        return Platform(os: os, architecture: "arm", variant: "v7")
        #elseif arch(i386)
        return Platform(os: os, architecture: "386")
        #elseif arch(powerpc64le)
        return Platform(os: os, architecture: "ppc64le")
        #elseif arch(s390x)
        return Platform(os: os, architecture: "s390x")
        #else
        return Platform(os: os, architecture: "unknown")
        #endif
    }()

    static let knownOperatingSystems: Set<String> = [
        "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl",
        "netbsd", "openbsd", "plan9", "solaris", "windows", "zos",
    ]

    static let knownArchitectures: Set<String> = [
        "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64", "mips",
        "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "riscv", "riscv64", "s390", "s390x",
        "sparc", "sparc64", "wasm",
    ]

    private static func isSpecifierComponent(_ part: String) -> Bool {
        !part.isEmpty && part.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
    }

    static func normalizeOS(_ os: String) -> String {
        let lowered = os.lowercased()
        return lowered == "macos" ? "darwin" : lowered
    }

    /// containerd's table; arm64's `v8` is dropped here and put back by `defaultVariant`, so both
    /// spellings compare equal.
    static func normalizeArchitecture(_ architecture: String, variant: String) -> (String, String) {
        let architecture = architecture.lowercased()
        var variant = variant.lowercased()
        switch architecture {
        case "i386":
            return ("386", "")
        case "x86_64", "x86-64", "amd64":
            return ("amd64", variant == "v1" ? "" : variant)
        case "aarch64", "arm64":
            switch variant {
            case "8", "v8", "v8.0": variant = ""
            case "9", "9.0", "v9.0": variant = "v9"
            default: break
            }
            return ("arm64", variant)
        case "armhf":
            return ("arm", "v7")
        case "armel":
            return ("arm", "v6")
        case "arm":
            switch variant {
            case "", "7": variant = "v7"
            case "5", "6", "8": variant = "v" + variant
            default: break
            }
            return ("arm", variant)
        default:
            return (architecture, variant)
        }
    }

    private static func defaultVariant(_ architecture: String, _ variant: String) -> String? {
        if architecture == "arm64" && variant.isEmpty { return "v8" }
        return variant.isEmpty ? nil : variant
    }
}

/// Why a string is not a platform specifier.
public enum PlatformError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Wildcards are for matchers, not platforms.
    case wildcard(String)
    /// A component with characters outside `[A-Za-z0-9_.-]`, or empty.
    case invalidComponent(String, component: String)
    /// One component that is neither a known OS nor a known architecture.
    case unknownOSOrArchitecture(String)
    /// More than `os/arch/variant`.
    case tooManyComponents(String)

    /// The text form shown to users.
    public var description: String {
        switch self {
        case .wildcard(let s):
            return "invalid platform \"\(s)\": wildcards are not allowed"
        case .invalidComponent(let s, let component):
            return "invalid platform \"\(s)\": component \"\(component)\" must be non-empty and match [A-Za-z0-9_.-]+"
        case .unknownOSOrArchitecture(let s):
            return "invalid platform \"\(s)\": unknown operating system or architecture"
        case .tooManyComponents(let s):
            return "invalid platform \"\(s)\": want os[/arch[/variant]]"
        }
    }
}
