import ArgumentParser
import Foundation
import KilnBuilder
import KilnCache
import KilnDistribution
import KilnOCI
import KilnRegistry
import KilnStorage

/// `kiln cache`: look at and trim the build cache.
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "List, measure and prune the build cache.",
        subcommands: [List.self, DiskUsage.self, Prune.self]
    )

    /// `kiln cache ls`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List the local cache entries, or a registry cache's with --cache-repo.")

        @Flag(help: "One JSON entry per line instead of a table.")
        var json = false

        @Option(name: .customLong("cache-repo"), help: "List this registry cache repository, REGISTRY/REPO, instead (repeatable).")
        var cacheRepo: [String] = []

        @OptionGroup var registry: RegistryFlags

        func run() async throws {
            var entries: [CacheEntry] = []
            if cacheRepo.isEmpty {
                entries = try LocalCacheBackend(root: KilnRoot.fromEnvironment()).entries()
            } else {
                let pool = try registry.pool()
                for backend in try await cacheRepo.asyncMap { try await RegistryCacheBackend(repository: $0, pool: pool) } {
                    do { entries += try await backend.entries() } catch { throw CommandFailure("\(backend.name): \(error)") }
                }
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                for entry in entries { TerminalText.print(String(decoding: try encoder.encode(entry), as: UTF8.self)) }
                return
            }
            TerminalText.print("KEY            OPERATION  LAYER          SIZE       CREATED               INSTRUCTION")
            for entry in entries {
                let layer = entry.layer.map { String($0.descriptor.digest.encoded.prefix(12)) } ?? "(none)"
                let size = entry.layer.map { ByteCountFormatter.string(fromByteCount: $0.descriptor.size, countStyle: .binary) } ?? "0 B"
                let instruction = entry.summary.count > 60 ? entry.summary.prefix(57) + "..." : Substring(entry.summary)
                TerminalText.print([String(entry.key.digest.encoded.prefix(12)), entry.operation.uppercased().padding(9),
                       layer.padding(14), size.padding(10), entry.created.padding(21), String(instruction)]
                    .joined(separator: "  "))
            }
        }
    }

    /// `kiln cache du`.
    struct DiskUsage: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "du", abstract: "Show how much space the cache uses.")

        func run() async throws {
            let root = KilnRoot.fromEnvironment()
            let usage = try LocalCacheBackend(root: root).usage(root: root)
            TerminalText.print("root:          \(root.url.path)")
            TerminalText.print("entries:       \(usage.entries)")
            TerminalText.print("cached layers: \(ByteCountFormatter.string(fromByteCount: usage.layerBytes, countStyle: .binary))")
            TerminalText.print("content store: \(ByteCountFormatter.string(fromByteCount: usage.storeBytes, countStyle: .binary))")
            TerminalText.print("snapshots:     \(usage.snapshots)")
            let mounts = CacheMountStore(root: root).usage()
            TerminalText.print("cache mounts:  \(mounts.count) (\(ByteCountFormatter.string(fromByteCount: mounts.reduce(0) { $0 + $1.bytes }, countStyle: .binary)))")
            for mount in mounts {
                TerminalText.print("  \(ByteCountFormatter.string(fromByteCount: mount.bytes, countStyle: .binary).padding(10))  "
                    + "last used \(RFC3339.string(from: mount.lastUsed))  id=\(mount.id)")
            }
        }
    }

    /// `kiln cache prune`.
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Remove cache entries and RUN --mount=type=cache directories not used within --keep-duration, and the blobs and snapshots only the entries needed."
        )

        @Option(help: "Keep what was used within this long: 14d, 36h, 90m, 30s (default 0s: remove everything unused now).",
                transform: KeepDuration.parse)
        var keepDuration: TimeInterval = 0

        @Option(name: .customLong("cache-repo"),
                help: "Also delete this registry cache's entries created before --keep-duration, REGISTRY/REPO (repeatable).")
        var cacheRepo: [String] = []

        @Option(name: .customLong("cache-mount-max-size"),
                help: "With --cache-repo: replace each exported cache mount state larger than this (10G, 512M) by one holding its most recently modified files within it.",
                transform: CacheFlags.parseSize)
        var cacheMountMaxSize: Int64?

        @OptionGroup var registry: RegistryFlags

        func run() async throws {
            let root = KilnRoot.fromEnvironment()
            let cutoff = Date().addingTimeInterval(-keepDuration)
            let abandoned = try await AbandonedBuilds.reclaim(root: root)
            if !abandoned.isEmpty { TerminalText.print("reclaimed what \(abandoned.count) dead build\(abandoned.count == 1 ? "" : "s") left") }
            let report = try LocalCacheBackend(root: root).prune(root: root, unusedSince: cutoff)
            let mounts = CacheMountStore(root: root).prune(unusedSince: cutoff)
            TerminalText.print("removed \(report.entries) entries, \(report.blobs) blobs (\(ByteCountFormatter.string(fromByteCount: report.blobBytes, countStyle: .binary))), \(report.snapshots) snapshots, "
                + "\(mounts.count) cache mounts (\(ByteCountFormatter.string(fromByteCount: mounts.bytes, countStyle: .binary)))")
            guard !cacheRepo.isEmpty else { return }
            let pool = try registry.pool()
            for backend in try await cacheRepo.asyncMap { try await RegistryCacheBackend(repository: $0, pool: pool) } {
                do {
                    do {
                        let deleted = try await backend.prune(createdBefore: cutoff)
                        TerminalText.print("\(backend.name): removed \(deleted) entries (the registry's garbage collector reclaims their blobs)")
                    } catch let error as RegistryError where error.refusesDeletes {
                        TerminalText.print("\(backend.name): the registry does not allow deletes, so its layer cache entries stay (enable storage.delete in its configuration)")
                    }
                    let mounts = try await backend.pruneMounts(createdBefore: cutoff, maximumSize: cacheMountMaxSize.flatMap { $0 > 0 ? $0 : nil })
                    TerminalText.print("\(backend.name): removed \(mounts.deleted) cache mount states, made \(mounts.capped) smaller")
                    if mounts.undeletable > 0 {
                        TerminalText.print("\(backend.name): the registry does not allow deletes, so \(mounts.undeletable) cache mount states older than --keep-duration stay; "
                            + "builds still import at most --cache-mount-max-size of each (enable storage.delete in the registry's configuration to remove them)")
                    }
                } catch {
                    throw CommandFailure("\(backend.name): \(error)")
                }
            }
        }
    }
}

/// `14d`, `36h`, `90m`, `30s`: the form `--keep-duration` takes.
enum KeepDuration {
    static func parse(_ text: String) throws -> TimeInterval {
        let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        guard let unit = text.last.flatMap({ units[$0] }), let value = Double(text.dropLast()), value >= 0 else {
            throw ValidationError("--keep-duration \"\(text)\": expected a number and a unit, e.g. 14d, 36h, 90m, 30s")
        }
        return value * unit
    }
}


extension String {
    /// Left-aligned in a column of `width`.
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
