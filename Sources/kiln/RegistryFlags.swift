import ArgumentParser
import Foundation
import KilnDistribution
import KilnOCI
import KilnRegistry

/// The flags every command that talks to registries shares (`pull`, `push`, `copy`,
/// `inspect`, `login`, `build`): `@OptionGroup var registry: RegistryFlags`.
struct RegistryFlags: ParsableArguments {
    @Option(name: .customLong("insecure-registry"),
            help: "HOST[:PORT] that may be reached over plain HTTP (repeatable; loopback hosts always may).")
    var insecureRegistries: [String] = []

    @Option(name: .customLong("registry-mirror"),
            help: "REGISTRY=MIRROR[/PREFIX]: try MIRROR before REGISTRY when pulling (repeatable), e.g. docker.io=localhost:5000/hub.")
    var registryMirrors: [String] = []

    @Option(help: "USER:PASSWORD for every registry, instead of the Docker config's credentials.")
    var creds: String?

    @Option(name: .customLong("ca-cert"), help: "A PEM CA certificate to trust for registries (repeatable).")
    var caCerts: [String] = []

    @Option(name: .customLong("registry-config"),
            help: "Kiln's registries.json (default: $XDG_CONFIG_HOME/kiln/registries.json).")
    var registryConfig: String?

    /// The options these flags, the configuration files and the environment add up to; flags
    /// come last, so a `--registry-mirror` for a registry replaces the files' mirrors for it.
    func options() throws -> RegistryOptions {
        var options: RegistryOptions
        do {
            options = try RegistryOptions.load(configurationFile: registryConfig.map { URL(fileURLWithPath: $0) })
        } catch {
            throw ArgumentParser.ValidationError("\(error)")
        }
        options.insecureRegistries.formUnion(insecureRegistries)
        var flagMirrors: [String: [RegistryMirror]] = [:]
        for spec in registryMirrors {
            guard let equals = spec.firstIndex(of: "="), equals != spec.startIndex else {
                throw ArgumentParser.ValidationError("--registry-mirror \"\(spec)\": expected REGISTRY=MIRROR[/PREFIX]")
            }
            do { flagMirrors[String(spec[..<equals]), default: []].append(try RegistryMirror(parsing: String(spec[spec.index(after: equals)...]))) } catch {
                throw ArgumentParser.ValidationError("--registry-mirror: \(error)")
            }
        }
        options.mirrors.merge(flagMirrors) { _, flags in flags }
        if let creds {
            guard let colon = creds.firstIndex(of: ":"), colon != creds.startIndex else {
                throw ArgumentParser.ValidationError("--creds: expected USER:PASSWORD")
            }
            options.credentialsOverride = RegistryCredential(
                username: String(creds[..<colon]), password: String(creds[creds.index(after: colon)...]))
        }
        options.caFiles += caCerts.map { URL(fileURLWithPath: $0) }
        return options
    }

    /// A pool made from ``options()``.
    func pool() throws -> RegistryPool {
        do { return try RegistryPool(options: try options()) } catch let error as ArgumentParser.ValidationError { throw error } catch {
            throw CommandFailure(describing: error)
        }
    }
}

/// A registry reference from the command line; `docker://` as skopeo writes it is accepted.
func parseRegistryReference(_ text: String) throws -> Reference {
    let bare = text.hasPrefix("docker://") ? String(text.dropFirst("docker://".count)) : text
    do { return try Reference(parsing: bare) } catch { throw ArgumentParser.ValidationError("\"\(text)\": \(error)") }
}
