import Foundation

extension RegistryOptions {
    /// Kiln's own file: `$XDG_CONFIG_HOME/kiln/registries.json`, else `~/.config/kiln/registries.json`.
    public static func defaultConfigurationFile(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> URL {
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".config")
        return base.appendingPathComponent("kiln/registries.json")
    }

    /// containers-registries.conf(5), whose `[[registry.mirror]]` entries Kiln honours.
    public static let containersRegistriesConf = URL(fileURLWithPath: "/etc/containers/registries.conf")

    /// Options from the configuration files that exist: the containers file first, then
    /// Kiln's own file, whose mirrors for a registry replace the containers file's.
    public static func load(
        configurationFile: URL? = nil, containersFile: URL? = RegistryOptions.containersRegistriesConf,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> RegistryOptions {
        var options = RegistryOptions()
        if let containersFile, FileManager.default.fileExists(atPath: containersFile.path) {
            try options.merge(containersRegistriesConf: try String(contentsOf: containersFile, encoding: .utf8),
                              file: containersFile.path)
        }
        let kilnFile = configurationFile ?? defaultConfigurationFile(environment: environment)
        if FileManager.default.fileExists(atPath: kilnFile.path) {
            try options.merge(registriesJSON: try Data(contentsOf: kilnFile), file: kilnFile.path)
        }
        return options
    }

    /// Adds Kiln's `registries.json`:
    /// `{"insecureRegistries": ["host:port"], "mirrors": {"docker.io": ["host:port/prefix"]}, "caFiles": ["/path"]}`.
    public mutating func merge(registriesJSON data: Data, file: String) throws {
        struct Document: Decodable {
            var insecureRegistries: [String]?
            var mirrors: [String: [String]]?
            var caFiles: [String]?
        }
        let document: Document
        do { document = try JSONDecoder().decode(Document.self, from: data) } catch {
            throw RegistryOptionsError.invalid("\(file): not a registries.json document: \(error)")
        }
        insecureRegistries.formUnion(document.insecureRegistries ?? [])
        for (registry, list) in document.mirrors ?? [:] {
            do { mirrors[registry] = try list.map { try RegistryMirror(parsing: $0) } } catch {
                throw RegistryOptionsError.invalid("\(file): \(error)")
            }
        }
        caFiles += (document.caFiles ?? []).map { URL(fileURLWithPath: $0) }
    }

    /// Adds the `[[registry]]` tables of a containers-registries.conf (version 2): their
    /// `[[registry.mirror]]` locations become mirrors of the registry's `prefix` (else
    /// `location`), and `insecure = true` entries may use plain HTTP. Everything else is ignored.
    public mutating func merge(containersRegistriesConf text: String, file: String) throws {
        struct Table { var fields: [String: String] = [:]; var mirrors: [[String: String]] = [] }
        var tables: [Table] = []
        var inMirror = false
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = Self.strippingComment(rawLine).trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                let name = line.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
                if name == "registry", line.hasPrefix("[[") {
                    tables.append(Table())
                    inMirror = false
                } else if name == "registry.mirror", line.hasPrefix("[["), !tables.isEmpty {
                    tables[tables.count - 1].mirrors.append([:])
                    inMirror = true
                } else {
                    // Another table: its keys are not about registries; drop them until the next header.
                    inMirror = false
                    tables.append(Table(fields: ["ignored": "true"]))
                }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw RegistryOptionsError.invalid("\(file):\(number + 1): expected key = value")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            guard !tables.isEmpty else { continue }
            if inMirror {
                let last = tables[tables.count - 1].mirrors.count - 1
                tables[tables.count - 1].mirrors[last][key] = value
            } else {
                tables[tables.count - 1].fields[key] = value
            }
        }
        for table in tables where table.fields["ignored"] == nil {
            guard let origin = table.fields["prefix"] ?? table.fields["location"] else { continue }
            let registry = String(origin.split(separator: "/").first ?? "")
            guard !registry.isEmpty else { continue }
            if table.fields["insecure"] == "true", let location = table.fields["location"] {
                insecureRegistries.insert(String(location.split(separator: "/").first ?? ""))
            }
            var list: [RegistryMirror] = []
            for mirror in table.mirrors {
                guard let location = mirror["location"] else { continue }
                do { list.append(try RegistryMirror(parsing: location)) } catch {
                    throw RegistryOptionsError.invalid("\(file): \(error)")
                }
                if mirror["insecure"] == "true", let host = list.last?.host { insecureRegistries.insert(host) }
            }
            if !list.isEmpty { mirrors[registry] = list }
        }
    }

    /// The line without a `#` comment that is outside quotes.
    private static func strippingComment(_ line: Substring) -> Substring {
        var quote: Character?
        for index in line.indices {
            let character = line[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "#" {
                return line[..<index]
            }
        }
        return line
    }
}
