/// `EXPOSE <port>[/<proto>] …`: ports the image listens on (expanded, then validated).
public struct ExposeInstruction: Sendable, Hashable, Encodable {
    /// Where it was written.
    public var source: InstructionSource
    /// The port words as written (or expanded).
    public var ports: [String]

    /// Parses an `EXPOSE` node.
    public init(node: Node) throws(DockerfileError) {
        guard !node.arguments.isEmpty else {
            throw DockerfileError("EXPOSE requires at least one argument", at: node.location)
        }
        _ = try ParsedFlags(node: node, accepting: [])
        source = InstructionSource(node: node)
        ports = node.arguments
    }

    /// The ports as typed values; only meaningful after expansion (a `$VAR` word fails here).
    public func exposedPorts() throws(DockerfileError) -> [ExposedPort] {
        var result: [ExposedPort] = []
        for (index, word) in ports.enumerated() {
            do throws(ExposedPort.ParseError) {
                result.append(try ExposedPort(parsing: word))
            } catch {
                throw DockerfileError(error.message, at: source.location(ofArgument: index))
            }
        }
        return result
    }
}

/// One exposed port or port range with its protocol.
public struct ExposedPort: Sendable, Hashable, Encodable, CustomStringConvertible {
    /// A transport protocol.
    public enum TransportProtocol: String, Sendable, Hashable, Encodable, CaseIterable {
        /// TCP (the default).
        case tcp
        /// UDP.
        case udp
        /// SCTP.
        case sctp
    }

    /// A malformed port word.
    public struct ParseError: Error, Sendable, Hashable {
        /// What is wrong.
        public var message: String
    }

    /// First port of the range.
    public var start: UInt16
    /// Last port of the range (equal to `start` for one port).
    public var end: UInt16
    /// The protocol.
    public var transport: TransportProtocol

    /// Parses `80`, `80/udp`, `8000-8010/tcp` (an `ip:` or `host:` prefix is ignored as by Docker's nat package).
    public init(parsing word: String) throws(ParseError) {
        var text = Substring(word)
        var proto = "tcp"
        if let slash = text.lastIndex(of: "/") {
            proto = text[text.index(after: slash)...].lowercased()
            text = text[..<slash]
        }
        if let colon = text.lastIndex(of: ":") { text = text[text.index(after: colon)...] }
        guard let transport = TransportProtocol(rawValue: proto) else {
            throw ParseError(message: "invalid proto: \(proto)")
        }
        let bounds = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard let start = UInt16(bounds[0]) else { throw ParseError(message: "invalid containerPort: \(text)") }
        var end = start
        if bounds.count == 2 {
            guard let last = UInt16(bounds[1]) else { throw ParseError(message: "invalid containerPort: \(text)") }
            guard last >= start else { throw ParseError(message: "invalid range specified for containerPort: \(text)") }
            end = last
        }
        self.start = start
        self.end = end
        self.transport = transport
    }

    /// `80/tcp` or `8000-8010/udp`.
    public var description: String {
        start == end ? "\(start)/\(transport.rawValue)" : "\(start)-\(end)/\(transport.rawValue)"
    }

    /// One `port/proto` key per port, as an image config's `ExposedPorts` lists them.
    public var configKeys: [String] {
        (Int(start)...Int(end)).map { "\($0)/\(transport.rawValue)" }
    }
}
