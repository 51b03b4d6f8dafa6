import ArgumentParser
import Foundation
import KilnOCI

/// One `--change` of `kiln import`: a Dockerfile metadata instruction applied to the new
/// image's config, as `docker import --change` does.
///
/// Deliberately small: words split on blanks with quotes and backslashes honoured, JSON arrays
/// for the exec form. No variable expansion — the Dockerfile frontend owns that grammar, and an
/// imported image has no build context whose variables could be meant.
struct ConfigChange: Sendable {
    /// The instructions `--change` accepts.
    static let supported = ["CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "USER", "WORKDIR", "VOLUME", "STOPSIGNAL"]

    let instruction: String
    let arguments: String

    init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let keyword = trimmed.prefix { !$0.isWhitespace }
        instruction = keyword.uppercased()
        arguments = trimmed.dropFirst(keyword.count).trimmingCharacters(in: .whitespaces)
        guard Self.supported.contains(instruction) else {
            throw ArgumentParser.ValidationError("--change \"\(text)\": unsupported instruction \"\(keyword)\" (supported: \(Self.supported.joined(separator: ", ")))")
        }
        guard !arguments.isEmpty else { throw ArgumentParser.ValidationError("--change \"\(text)\": \(instruction) needs arguments") }
    }

    /// Applies the instruction to `config`.
    func apply(to config: inout ContainerConfig) throws {
        switch instruction {
        case "CMD":
            config.cmd = commandForm()
        case "ENTRYPOINT":
            config.entrypoint = commandForm()
        case "ENV":
            for (key, value) in try pairs() {
                config.env.removeAll { $0.hasPrefix(key + "=") }
                config.env.append("\(key)=\(value)")
            }
        case "LABEL":
            for (key, value) in try pairs() { config.labels[key] = value }
        case "EXPOSE":
            for port in try words() { config.exposedPorts.insert(try Self.exposedPort(port)) }
        case "USER":
            config.user = try single()
        case "WORKDIR":
            let directory = try single()
            config.workingDir = directory.hasPrefix("/")
                ? directory
                : ((config.workingDir ?? "/") as NSString).appendingPathComponent(directory)
        case "VOLUME":
            for volume in try jsonArray() ?? words() { config.volumes.insert(volume) }
        case "STOPSIGNAL":
            config.stopSignal = try single()
        default:
            break
        }
    }

    /// The exec form (a JSON array) or the shell form, which runs under `/bin/sh -c` as in Docker.
    private func commandForm() -> [String] {
        jsonArray() ?? ["/bin/sh", "-c", arguments]
    }

    private func jsonArray() -> [String]? {
        guard arguments.hasPrefix("[") else { return nil }
        return try? JSONDecoder().decode([String].self, from: Data(arguments.utf8))
    }

    private func single() throws -> String {
        let words = try words()
        guard words.count == 1 else { throw failure("takes exactly one argument") }
        return words[0]
    }

    /// `KEY=value …`, or the legacy `KEY value with spaces` when the first word has no `=`.
    private func pairs() throws -> [(String, String)] {
        let words = try words()
        if let first = words.first, !first.contains("=") {
            guard words.count > 1 else { throw failure("\(first) needs a value") }
            let value = arguments.dropFirst(arguments.prefix { !$0.isWhitespace }.count)
            return [(first, value.trimmingCharacters(in: .whitespaces))]
        }
        return try words.map { word in
            let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty else { throw failure("\"\(word)\" is not KEY=value") }
            return (String(parts[0]), String(parts[1]))
        }
    }

    /// Blank-separated words; quotes group, a backslash escapes the next character.
    private func words() throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in arguments {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" && quote != "'" {
                escaped = true
                inWord = true
            } else if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
                inWord = true
            } else if character.isWhitespace {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        guard quote == nil, !escaped else { throw failure("unterminated quote or escape") }
        if inWord { words.append(current) }
        return words
    }

    /// `80`, `80/tcp`, `53/udp` → the config's `port/protocol` form.
    private static func exposedPort(_ text: String) throws -> String {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
        guard parts.count <= 2, let port = Int(parts[0]), (1...65535).contains(port),
              ["tcp", "udp", "sctp"].contains(proto)
        else { throw ArgumentParser.ValidationError("--change EXPOSE: \"\(text)\" is not a port (PORT[/tcp|udp|sctp])") }
        return "\(port)/\(proto)"
    }

    private func failure(_ reason: String) -> ArgumentParser.ValidationError {
        ArgumentParser.ValidationError("--change \"\(instruction) \(arguments)\": \(reason)")
    }
}
