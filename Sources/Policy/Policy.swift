public import NetworkTypes

/// A least-privilege policy: which flows between sites are allowed (everything else is denied), which
/// gateway may advertise which prefixes, and the tests the policy must pass. Read from a HuJSON file in
/// the format of Tailscale policy files by ``parse(_:)``; the same file on every gateway.
///
/// Rules only accept: their order decides nothing but which rule is named (and counted) for a flow that
/// several allow, the first one.
public struct Policy: Sendable {
    /// A protocol and, for the protocols with ports (TCP, UDP, SCTP), a range of destination ports.
    public struct Service: Sendable, Hashable, CustomStringConvertible {
        /// The IP protocol number; nil for every protocol.
        public var protocolNumber: UInt8?
        /// The destination ports; `0...65535` for a protocol without ports.
        public var ports: ClosedRange<UInt16>

        public init(protocolNumber: UInt8?, ports: ClosedRange<UInt16> = 0...UInt16.max) {
            self.protocolNumber = protocolNumber
            self.ports = ports
        }

        public func matches(protocolNumber number: UInt8, port: UInt16) -> Bool {
            guard let protocolNumber else { return true }
            guard protocolNumber == number else { return false }
            return !Policy.portProtocols.contains(number) || ports.contains(port)
        }

        public var description: String {
            let name = protocolNumber.map(Policy.protocolName) ?? "*"
            guard let protocolNumber, Policy.portProtocols.contains(protocolNumber), ports != 0...UInt16.max else {
                return "\(name):*"
            }
            return ports.count == 1 ? "\(name):\(ports.lowerBound)" : "\(name):\(ports.lowerBound)-\(ports.upperBound)"
        }
    }

    /// One accepting rule: an ACL entry with one destination, or a grant.
    public struct Rule: Sendable, Hashable {
        /// `acls[2]` or `grants[0]`: the counter and audit name, shared by the entries of one ACL.
        public var name: String
        public var position: SourcePosition
        public var sources: AddressRanges
        public var destinations: AddressRanges
        public var services: [Service]
    }

    /// `autoApprovers.routes`: gateways allowed to advertise `prefix` or any prefix inside it.
    public struct RouteApproval: Sendable, Hashable {
        public var prefix: IPPrefix
        public var gateways: Set<String>
        public var position: SourcePosition
    }

    /// One `tests` entry.
    public struct Test: Sendable, Hashable {
        public var name: String
        public var position: SourcePosition
        public var source: IPAddress
        public var sourceText: String
        public var protocolNumber: UInt8
        public var expectations: [Expectation]
    }

    public struct Expectation: Sendable, Hashable {
        public var text: String
        public var position: SourcePosition
        public var destination: IPAddress
        public var port: UInt16
        public var accept: Bool
    }

    /// The rules, in file order (ACLs, then grants).
    public var rules: [Rule]
    public var routeApprovals: [RouteApproval]
    public var tests: [Test]
    /// Every gateway name the policy uses (in tags and approvers), with where, for the daemon to check
    /// against the peer list.
    public var gatewayReferences: [(name: String, position: SourcePosition)]
    /// SHA-256 of the file's bytes, as `sha256sum` prints it.
    public var digest: String

    /// The distinct rule names, in order.
    public var ruleNames: [String] {
        var seen: Set<String> = []
        return rules.map(\.name).filter { seen.insert($0).inserted }
    }

    /// The protocols whose rules name ports; every other protocol is matched as a whole.
    public static let portProtocols: Set<UInt8> = [6, 17, 132]

    static let protocolNames: [String: [UInt8]] = [
        "tcp": [6], "udp": [17], "sctp": [132], "icmp": [1, 58], "ipv6-icmp": [58], "icmpv6": [58], "igmp": [2],
        "gre": [47], "esp": [50], "ah": [51],
    ]

    public static func protocolName(_ number: UInt8) -> String {
        switch number {
        case 1: "icmp"
        case 6: "tcp"
        case 17: "udp"
        case 58: "ipv6-icmp"
        case 132: "sctp"
        default: "\(number)"
        }
    }

    /// Parses a protocol as written in `proto` or an `ip` entry: a name or a number 0–255.
    public static func protocolNumbers(_ text: String) -> [UInt8]? {
        if let numbers = protocolNames[text.lowercased()] { return numbers }
        return UInt8(text).map { [$0] }
    }

    /// The first rule that accepts the flow, or nil: it is denied.
    public func decide(source: IPAddress, destination: IPAddress, protocolNumber: UInt8, port: UInt16) -> Rule? {
        rules.first { rule in
            rule.sources.contains(source) && rule.destinations.contains(destination)
                && rule.services.contains { $0.matches(protocolNumber: protocolNumber, port: port) }
        }
    }

    /// The approval that lets `gateway` advertise `prefix`, or nil: the route is refused.
    public func approval(gateway: String, prefix: IPPrefix) -> RouteApproval? {
        routeApprovals.first { $0.prefix.contains(prefix) && $0.gateways.contains(gateway) }
    }

    /// Why each failing test fails; empty when the policy passes its tests.
    public func testFailures() -> [PolicyError] {
        var failures: [PolicyError] = []
        for test in tests {
            for expectation in test.expectations {
                let rule = decide(
                    source: test.source, destination: expectation.destination, protocolNumber: test.protocolNumber,
                    port: expectation.port)
                let flow = "\(test.sourceText) → \(expectation.text) (\(Self.protocolName(test.protocolNumber)))"
                if expectation.accept, rule == nil {
                    failures.append(
                        PolicyError(expectation.position, "\(test.name): \(flow) is denied, the test says accept"))
                } else if !expectation.accept, let rule {
                    failures.append(
                        PolicyError(
                            expectation.position,
                            "\(test.name): \(flow) is accepted by \(rule.name) (line \(rule.position.line)), the test says deny"
                        ))
                }
            }
        }
        return failures
    }
}
