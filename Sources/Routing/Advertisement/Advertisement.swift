public import NetworkTypes

/// One message of the meshgate route protocol, exchanged between gateways over UDP port 51821 on their
/// overlay addresses, so every datagram travels inside the WireGuard tunnel.
///
/// Version 1 wire format (all integers big-endian; see `docs/route-protocol.md` for the full text):
///
/// | Part | Field | Size | Values |
/// | --- | --- | --- | --- |
/// | header | `version` | 1 | `1`; anything else is ``AdvertisementDecodeError/unsupportedVersion(_:)`` |
/// | header | `kind` | 1 | `1` hello, `2` routes, `3` withdraw |
/// | header | `sequence` | 8 | the sender's message counter, one counter for all kinds |
/// | header | `sender` | 1 + n | a *name*: length byte, then 1...63 bytes of `A-Z a-z 0-9 . _ -` |
/// | hello | `group` | 1 + n | name of the HA group |
/// | hello | `priority` | 1 | 1...255, higher is preferred |
/// | hello | `role` | 1 | `0` standby, `1` primary (the sender's claim) |
/// | hello | `flags` | 1 | bit 0 `lan_healthy`, bit 1 `held` (stepped down, on hold); other bits zero |
/// | hello | `term` | 8 | election epoch: the primary's term, or the highest term a standby knows; 0...2^53 |
/// | routes | `group_count` | 1 | 0...255 group records follow |
/// | routes | group record | | `name` (name), `priority` (1), `primary` (length byte + 0...63 bytes; empty = none known), `term` (8, 0...2^53) |
/// | routes | `route_count` | 2 | 0...65535 route records follow |
/// | routes | route record | | `family` (1: `4` or `6`), `length` (1), `address` (4 or 16), `group_index` (1: `0` none, `k` = k-th group record) |
/// | withdraw | — | 0 | no body: every route of the sender is gone now |
/// | policy | `digest` | 1 + n | length byte `0` (no policy) or `32`, then the SHA-256 of the sender's policy file |
/// | probe targets | `count` | 2 | 0...65535 records: a route's `family`, `length`, `address`, then the target `address` (4 or 16, same family, inside the prefix) |
/// | links | `count` | 1 | 0...255 records, names strictly ascending: a peer the sender hears directly (`name`), its RTT in ms (2; 65535 unknown), and where it sees the peer's datagrams come from: `family` (1: `0` not told, `4` or `6`), `address` (4 or 16), `port` (2); then `relay_count` (1) records, gateway names strictly ascending: a gateway the sender reaches through a relay (`name`), and the relay (`name`) |
/// | relayed | `origin` | 1 + n | the gateway whose message this is |
/// | relayed | `message` | 2 + n | length, then a routes, withdraw, policy or probe-targets message whose `sender` is `origin` |
///
/// Decoding is strict so that each message has exactly one encoding: prefixes must be canonical and
/// unique, group names unique, reserved bits zero, and the datagram must end exactly after the last
/// field. A decoded message therefore re-encodes to the same bytes.
///
/// The protocol has no authentication of its own: the daemon accepts a message only when the
/// datagram's source (inner) address is the overlay address of the peer named as `sender`
/// (``isSent(from:overlayAddresses:)``); WireGuard's cryptokey routing guarantees that source.
public enum Advertisement: Sendable, Hashable {
    /// HA liveness and role claim, sent every hello interval to the other members of the group.
    case hello(Hello)
    /// The sender's full list of advertised prefixes and its view of its groups' primaries, sent every
    /// advertise interval and immediately after any change.
    case routes(Routes)
    /// The sender is shutting down cleanly: all its routes are gone now.
    case withdraw(Withdraw)
    /// The digest of the policy the sender enforces, sent with every routes message, so that a gateway
    /// whose policy differs from its peers' is seen.
    case policy(PolicyDigest)
    /// Where the sender's subnets can be probed end to end (a host behind the subnet that answers ICMP
    /// echo), sent with every routes message.
    case probeTargets(ProbeTargets)
    /// The peers the sender hears over their direct tunnel, with the RTT it measures to them: sent on
    /// every change and with every routes message, so every gateway can pick relays (docs/route-protocol.md).
    case links(Links)
    /// A message of another gateway (`origin`), passed on by a relay to a gateway that cannot hear the
    /// origin directly, so that routes survive a partition between the two.
    indirect case relayed(Relayed)

    /// The wire-format version this code writes and the only one it reads.
    public static let version: UInt8 = 1
    /// The UDP port the route protocol uses on overlay addresses.
    public static let port: UInt16 = 51821
    /// The longest gateway or group name, in bytes.
    public static let maximumNameLength = 63
    /// The largest election term a message may carry: 2^53, so a term is exact as a JSON number (audit
    /// log, `--json`) and a claim `term + 1` can never overflow. A group elects at most a few times a
    /// second, so an honest gateway would need millions of years to reach it; a larger value is hostile
    /// or corrupt and the message is refused (``AdvertisementDecodeError/termOutOfRange(field:_:)``).
    public static let maximumTerm: UInt64 = 1 << 53

    /// The message kind, the second byte of every message.
    public enum Kind: UInt8, Sendable, Hashable {
        case hello = 1
        case routes = 2
        case withdraw = 3
        case policy = 4
        case probeTargets = 5
        case links = 6
        case relayed = 7
    }

    /// A hello: the sender's liveness, LAN health and role claim in one HA group.
    public struct Hello: Sendable, Hashable {
        /// The sending gateway's name.
        public var sender: String
        /// The sender's message counter (shared by all kinds).
        public var sequence: UInt64
        /// The HA group the hello is about.
        public var group: String
        /// The sender's priority in the group, 1...255; higher is preferred.
        public var priority: UInt8
        /// The role the sender claims.
        public var role: PrimaryElection.Role
        /// The primary's term when `role` is primary; otherwise the highest term the sender knows.
        public var term: UInt64
        /// Whether the sender can reach its LAN; a member without its LAN is not eligible.
        public var lanHealthy: Bool
        /// Whether the sender stepped down recently and is on hold: it ranks below every member
        /// that is not on hold.
        public var held: Bool

        public init(
            sender: String, sequence: UInt64, group: String, priority: UInt8, role: PrimaryElection.Role,
            term: UInt64, lanHealthy: Bool, held: Bool
        ) {
            self.sender = sender
            self.sequence = sequence
            self.group = group
            self.priority = priority
            self.role = role
            self.term = term
            self.lanHealthy = lanHealthy
            self.held = held
        }
    }

    /// One advertised prefix.
    public struct Route: Sendable, Hashable {
        /// A canonical prefix (no host bits).
        public var prefix: IPPrefix
        /// The HA group serving the prefix, or `nil` for a gateway without a group.
        public var group: String?

        public init(prefix: IPPrefix, group: String? = nil) {
            self.prefix = prefix
            self.group = group
        }
    }

    /// The sender's state in one HA group, carried in a routes message.
    public struct GroupStatus: Sendable, Hashable {
        /// The group's name.
        public var group: String
        /// The sender's priority in the group, 1...255.
        public var priority: UInt8
        /// The member the sender currently sees as primary (itself when it claims the role), or `nil`.
        public var primary: String?
        /// The term of `primary`, or the highest term the sender knows when `primary` is `nil`.
        public var term: UInt64

        public init(group: String, priority: UInt8, primary: String?, term: UInt64) {
            self.group = group
            self.priority = priority
            self.primary = primary
            self.term = term
        }
    }

    /// A routes message: the complete current list, replacing whatever the sender said before.
    public struct Routes: Sendable, Hashable {
        /// The sending gateway's name.
        public var sender: String
        /// The sender's message counter (shared by all kinds).
        public var sequence: UInt64
        /// The sender's groups (in practice at most one). Every `Route.group` must name one of them.
        public var groups: [GroupStatus]
        /// Every prefix the sender serves, canonical and without duplicates.
        public var routes: [Route]

        public init(sender: String, sequence: UInt64, groups: [GroupStatus] = [], routes: [Route]) {
            self.sender = sender
            self.sequence = sequence
            self.groups = groups
            self.routes = routes
        }
    }

    /// A withdraw message: the sender is going away cleanly.
    public struct Withdraw: Sendable, Hashable {
        /// The sending gateway's name.
        public var sender: String
        /// The sender's message counter (shared by all kinds).
        public var sequence: UInt64

        public init(sender: String, sequence: UInt64) {
            self.sender = sender
            self.sequence = sequence
        }
    }

    /// A policy message: which policy the sender enforces.
    public struct PolicyDigest: Sendable, Hashable {
        public var sender: String
        public var sequence: UInt64
        /// The SHA-256 of the sender's policy file (32 bytes), or empty when it enforces none.
        public var digest: [UInt8]

        public init(sender: String, sequence: UInt64, digest: [UInt8]) {
            self.sender = sender
            self.sequence = sequence
            self.digest = digest
        }
    }

    /// A probe-targets message: for some of the sender's prefixes, a host inside it to probe.
    public struct ProbeTargets: Sendable, Hashable {
        public var sender: String
        public var sequence: UInt64
        /// Prefix → target address inside it; prefixes canonical and unique.
        public var targets: [IPPrefix: IPAddress]

        public init(sender: String, sequence: UInt64, targets: [IPPrefix: IPAddress]) {
            self.sender = sender
            self.sequence = sequence
            self.targets = targets
        }
    }

    /// A links message: the peers the sender hears directly.
    public struct Links: Sendable, Hashable {
        public var sender: String
        public var sequence: UInt64
        /// Every peer heard directly.
        public var heard: [String: Link]
        /// The RTT value that means "not measured".
        public static let unknownRTT: UInt16 = 0xFFFF
        /// The loss value that means "not measured"; anything else is at most 100.
        public static let unknownLoss: UInt8 = 0xFF

        /// One peer the sender hears.
        public struct Link: Sendable, Hashable {
            /// Milliseconds (nil: not measured yet).
            public var rtt: UInt16?
            /// The address and port the peer's datagrams come from as the sender sees them (its NAT
            /// mapping), told only for peers that have no configured endpoint.
            public var endpoint: Endpoint?
            /// Percent of the sender's recent probes to the peer that went unanswered (nil: too few yet).
            public var lossPercent: UInt8?

            public init(rtt: UInt16? = nil, endpoint: Endpoint? = nil, lossPercent: UInt8? = nil) {
                self.rtt = rtt
                self.endpoint = endpoint
                self.lossPercent = lossPercent
            }
        }

        /// The gateways the sender reaches through a relay now, and the relay: a relay passes a gateway's
        /// adverts on only to those that route it through the relay.
        public var relays: [String: String]

        public init(sender: String, sequence: UInt64, heard: [String: Link], relays: [String: String] = [:]) {
            self.sender = sender
            self.sequence = sequence
            self.heard = heard
            self.relays = relays
        }
    }

    /// A relayed message: `message`, whose sender is `origin`, passed on by `sender`.
    public struct Relayed: Sendable, Hashable {
        public var sender: String
        public var sequence: UInt64
        public var origin: String { message.sender }
        /// Only ``Kind/routes``, ``Kind/withdraw``, ``Kind/policy``, ``Kind/probeTargets`` or ``Kind/links``.
        public var message: Advertisement

        public init(sender: String, sequence: UInt64, message: Advertisement) {
            self.sender = sender
            self.sequence = sequence
            self.message = message
        }

        /// The kinds a relay passes on.
        public static func mayCarry(_ kind: Kind) -> Bool {
            kind == .routes || kind == .withdraw || kind == .policy || kind == .probeTargets || kind == .links
        }
    }

    /// The message's kind.
    public var kind: Kind {
        switch self {
        case .hello: .hello
        case .routes: .routes
        case .withdraw: .withdraw
        case .policy: .policy
        case .probeTargets: .probeTargets
        case .links: .links
        case .relayed: .relayed
        }
    }

    /// The name the message claims to come from.
    public var sender: String {
        switch self {
        case .hello(let hello): hello.sender
        case .routes(let routes): routes.sender
        case .withdraw(let withdraw): withdraw.sender
        case .policy(let policy): policy.sender
        case .probeTargets(let targets): targets.sender
        case .links(let links): links.sender
        case .relayed(let relayed): relayed.sender
        }
    }

    /// The sender's message counter.
    public var sequence: UInt64 {
        switch self {
        case .hello(let hello): hello.sequence
        case .routes(let routes): routes.sequence
        case .withdraw(let withdraw): withdraw.sequence
        case .policy(let policy): policy.sequence
        case .probeTargets(let targets): targets.sequence
        case .links(let links): links.sequence
        case .relayed(let relayed): relayed.sequence
        }
    }

    /// Whether a datagram from the inner source address `source` may carry this message: true only
    /// when `overlayAddresses` (peer name → configured overlay address) maps ``sender`` to `source`.
    /// The daemon drops the message otherwise, so one peer cannot speak for another.
    public func isSent(from source: IPAddress, overlayAddresses: [String: IPAddress]) -> Bool {
        overlayAddresses[sender] == source
    }

    /// Whether `name` can be sent as a gateway or group name: 1...63 bytes of ASCII letters, digits,
    /// `.`, `_` and `-`. `GatewayConfig` enforces the same rule on configured names.
    public static func isValidName(_ name: String) -> Bool {
        isValidName(bytes: name.utf8)
    }

    static func isValidName(bytes: some Collection<UInt8>) -> Bool {
        guard (1...maximumNameLength).contains(bytes.count) else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default:
                false
            }
        }
    }
}
