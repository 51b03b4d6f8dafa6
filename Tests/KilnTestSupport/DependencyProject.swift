import Foundation

/// A project whose build resolves its dependencies with a real package manager from a
/// ``TestPackageIndex``, the way CI builds do: the Dockerfile `COPY`s the whole source tree,
/// then one RUN resolves (and builds) with the package manager's download cache as a cache
/// mount, so every source edit re-runs that RUN and only the cache mount can spare downloads.
///
/// The RUN prints the cache mount's content before and after resolving, one line per file
/// (`cache-before SHA256 ./path`, `cache-after …`), so a test can tell which state it found.
/// Builds need the base ``BaseImages/debianPackageManagers()`` as the named context `debian`
/// and the host network (`--network host --allow network.host`) to reach the index.
public struct DependencyProject: Sendable {
    /// Which package manager resolves.
    public enum Kind: String, Sendable {
        /// `mvn compile` of a Java class, `~/.m2` cached: 217 jars and poms from Debian's Maven repository.
        case maven
        /// `pip install -r requirements.txt` of 36 wheels, `~/.cache/pip` cached.
        case pip
    }

    /// The package manager.
    public let kind: Kind
    /// The folder the project is written to: the build context.
    public let context: URL
    /// The index it resolves from.
    public let indexPort: Int
    /// The cache mount's `id`.
    public let cacheID: String

    /// The Maven dependencies (`group:artifact:version`, as Debian ships them) whose closure,
    /// with the compiler and resources plugins, is 217 artifacts in Debian bookworm's repository.
    public static let mavenDependencies = [
        "org.apache.maven:maven-core:3.8.7", "org.apache.maven:maven-compat:3.8.7", "org.apache.maven:maven-embedder:3.8.7",
        "org.apache.maven:maven-slf4j-provider:3.8.7",
        "org.apache.maven.resolver:maven-resolver-connector-basic:1.6.3",
        "org.apache.maven.resolver:maven-resolver-transport-file:1.6.3",
        "org.apache.maven.resolver:maven-resolver-transport-wagon:1.6.3", "org.apache.maven.wagon:wagon-file:3.5.3",
        "org.junit.jupiter:junit-jupiter:5.9.2", "org.junit.jupiter:junit-jupiter-params:5.9.2",
        "org.junit.platform:junit-platform-launcher:1.9.1", "org.junit.platform:junit-platform-console:1.9.1",
        "org.junit.platform:junit-platform-suite:1.9.1", "org.junit.platform:junit-platform-reporting:1.9.1",
        "org.junit.vintage:junit-vintage-engine:5.9.2", "org.ow2.asm:asm-commons:9.4", "org.ow2.asm:asm-util:9.4",
        "org.slf4j:slf4j-simple:1.7.32", "org.slf4j:jcl-over-slf4j:1.7.32", "org.slf4j:jul-to-slf4j:1.7.32",
        "org.slf4j:log4j-over-slf4j:1.7.32", "com.google.inject.extensions:guice-assistedinject:4.2.3",
        "com.google.inject.extensions:guice-multibindings:4.2.3", "org.fusesource.jansi:jansi:2.4.0",
        "commons-lang:commons-lang:2.6", "org.apache.xbean:xbean-reflect:4.5",
        "org.codehaus.plexus:plexus-container-default:2.1.1",
    ]

    /// The one Maven dependency ``addDependency()`` adds: nothing else needs it, and its parent
    /// and its own dependency are already in the closure, so it brings exactly its pom and jar.
    public static let addedMavenDependency = "org.slf4j:slf4j-nop:1.7.32"

    /// The artifact paths the added dependency brings, as the index logs their downloads.
    public var addedArtifacts: [String] {
        switch kind {
        case .maven:
            let parts = Self.addedMavenDependency.split(separator: ":").map(String.init)
            let base = "/maven/" + parts[0].replacingOccurrences(of: ".", with: "/") + "/\(parts[1])/\(parts[2])/\(parts[1])-\(parts[2])"
            return [base + ".jar", base + ".pom"]
        case .pip:
            return ["/wheels/" + TestWheels.extra.fileName]
        }
    }

    /// Writes the project into `context` (created if missing), resolving from `index`, with the
    /// cache mount `cacheID` (default: the kind's name).
    public init(_ kind: Kind, in context: URL, index: TestPackageIndex, cacheID: String? = nil) throws {
        self.kind = kind
        self.context = context
        self.indexPort = index.port
        self.cacheID = cacheID ?? kind.rawValue
        try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        switch kind {
        case .maven:
            try write(Self.pom(Self.mavenDependencies), to: "pom.xml")
            try write("""
                <settings>
                  <mirrors>
                    <mirror><id>stand-in</id><mirrorOf>*</mirrorOf><url>\(index.mavenURL)</url></mirror>
                  </mirrors>
                </settings>

                """, to: "settings.xml")
            try editSource(version: 1)
        case .pip:
            try setRequirements(TestWheels.topLevel)
            try editSource(version: 1)
        }
        try write(resolveScript(index: index), to: "resolve.sh")
        try write("""
            FROM debian
            WORKDIR /src
            COPY . .
            RUN --mount=type=cache,id=\(self.cacheID),target=\(cacheTarget) sh /src/resolve.sh

            """, to: "Dockerfile")
    }

    /// Where the cache mount is in the RUN: the package manager's download cache.
    public var cacheTarget: String { kind == .maven ? "/root/.m2" : "/root/.cache/pip" }

    /// Changes the source tree (not the dependencies): the main class or module prints `version`.
    public func editSource(version: Int) throws {
        switch kind {
        case .maven:
            try FileManager.default.createDirectory(at: context.appendingPathComponent("src/main/java/demo"),
                                                    withIntermediateDirectories: true)
            try write("package demo;\n\npublic class Main {\n    public static void main(String[] args) {\n"
                      + "        System.out.println(\"version \(version)\");\n    }\n}\n", to: "src/main/java/demo/Main.java")
        case .pip:
            try write("import kiln_dep_01\n\nprint('version \(version)', kiln_dep_01.NAME)\n", to: "app.py")
        }
    }

    /// Adds the one dependency that brings exactly ``addedArtifacts``.
    public func addDependency() throws {
        switch kind {
        case .maven: try write(Self.pom(Self.mavenDependencies + [Self.addedMavenDependency]), to: "pom.xml")
        case .pip: try setRequirements(TestWheels.topLevel + [TestWheels.extra.name])
        }
    }

    /// The pip project's requirements (ignored by a Maven project).
    public func setRequirements(_ names: [String]) throws {
        try write(names.joined(separator: "\n") + "\n", to: "requirements.txt")
    }

    /// The cache mount's files (`SHA256 ./path`, sorted) that a build's output shows under
    /// `marker` (`cache-before` or `cache-after`); nil when the RUN printed no such state.
    public static func cacheState(_ marker: String, in output: String) -> [String]? {
        var state: [String] = []
        var seen = false
        for line in output.split(separator: "\n") {
            // The marker may follow what the package manager left without a newline (Maven's
            // colour resets), so it is matched at the end of a line.
            if line.hasSuffix("\(marker)-begin") { seen = true }
            guard let range = line.range(of: " \(marker) ") else { continue }
            state.append(String(line[range.upperBound...]))
        }
        return seen ? state : nil
    }

    private func resolveScript(index: TestPackageIndex) -> String {
        let resolve = switch kind {
        case .maven:
            "mvn -B -q -Dstyle.color=never -s settings.xml compile"
        case .pip:
            "python3 -m pip install -q --disable-pip-version-check --no-input --index-url \(index.pipIndexURL) "
                + "--trusted-host 127.0.0.1 --target /opt/site -r requirements.txt"
        }
        return """
            set -eu
            # One line per file of the cache mount: its content, before and after resolving.
            state() {
                printf '\\n%s-begin\\n' "$1"
                (cd \(cacheTarget) && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sed "s/^/$1 /")
            }
            state cache-before
            \(resolve)
            state cache-after

            """
    }

    private static func pom(_ dependencies: [String]) -> String {
        let entries = dependencies.map { coordinate -> String in
            let parts = coordinate.split(separator: ":")
            return "    <dependency><groupId>\(parts[0])</groupId><artifactId>\(parts[1])</artifactId>"
                + "<version>\(parts[2])</version></dependency>\n"
        }.joined()
        return """
            <project xmlns="http://maven.apache.org/POM/4.0.0">
              <modelVersion>4.0.0</modelVersion>
              <groupId>demo</groupId>
              <artifactId>demo</artifactId>
              <version>1.0</version>
              <properties>
                <maven.compiler.source>17</maven.compiler.source>
                <maven.compiler.target>17</maven.compiler.target>
                <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
              </properties>
              <dependencies>
            \(entries)  </dependencies>
            </project>

            """
    }

    private func write(_ text: String, to name: String) throws {
        try Data(text.utf8).write(to: context.appendingPathComponent(name))
    }
}
