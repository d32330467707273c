public import CryptoPrimitives
public import NetworkTypes
public import Policy

/// The validated configuration of one `meshgated` gateway, parsed from its YAML file by
/// ``parse(yaml:)``.
///
/// Every value has been checked: names, addresses, prefixes, ranges, uniqueness and the cross-field
/// rules (advertised subnets are canonical, private unless ``allowPublicSubnets``, and overlap neither
/// each other nor the overlay and endpoint addresses). Files named here (keys) are *not* read: that is
/// the caller's job, with ``validatePrivateKeyFile(contents:mode:path:key:)`` checking what it read.
public struct GatewayConfiguration: Sendable, Hashable {
    /// `node:` — this gateway's identity.
    public struct NodeSettings: Sendable, Hashable {
        /// Unique in the mesh: 1-63 characters of `A-Z a-z 0-9 . _ -`.
        public var name: String
        /// Absolute path of the `wg genkey` private key file.
        public var privateKeyFile: String
    }

    /// `overlay:` — the WireGuard interface.
    public struct OverlaySettings: Sendable, Hashable {
        /// Interface name (1-15 characters).
        public var interface: String
        /// This gateway's stable overlay address.
        public var address: IPAddress
        /// UDP port WireGuard listens on, 1-65535 (default 51820).
        public var listenPort: UInt16
        /// Interface MTU in bytes, 1280-9000 (default 1280).
        public var mtuBytes: Int
    }

    /// `ha.lan:` — the LAN side an HA member watches and serves.
    public struct LANSettings: Sendable, Hashable {
        /// The LAN interface.
        public var interface: String
        /// The virtual IP with its subnet length (`10.10.10.1/24`), held only by the group's primary.
        public var virtualIP: IPPrefix
    }

    /// `ha:` — membership of a region's HA group.
    public struct HASettings: Sendable, Hashable {
        /// Group name (same rules as gateway names).
        public var group: String
        /// 1-255, higher is preferred (default 100).
        public var priority: UInt8
        /// Whether a recovered higher-priority member takes the role back (default false).
        public var preempt: Bool
        /// Continuous eligibility required before preempting (default 0).
        public var preemptDelay: Duration
        /// After a planned step-down, how long this member stays on hold (default 10 s).
        public var stepDownHold: Duration
        /// The LAN side.
        public var lan: LANSettings
        /// `on_role_change`: a command (absolute path, then arguments) run without a shell when this
        /// member's role changes, with the new role and the group appended; `nil` when not configured.
        public var onRoleChange: [String]? = nil
        /// `on_role_change_timeout`: how long the command may run before it is killed (default 10 s).
        public var onRoleChangeTimeout: Duration = .seconds(10)
    }

    /// One entry of `peers:`.
    public struct PeerSettings: Sendable, Hashable {
        /// The peer's gateway name, unique in the list.
        public var name: String
        /// Its WireGuard public key.
        public var publicKey: Key32
        /// Where to reach it, or `nil` when it only connects to us.
        public var endpoint: Endpoint?
        /// Its overlay address: route-protocol messages are accepted from this address only.
        public var overlayAddress: IPAddress
        /// Keepalive interval, or `nil` when off.
        public var persistentKeepalive: Duration?
        /// When its key must have been rotated.
        public var keyExpires: KeyExpiry?
        /// Absolute path of a preshared key file, if any.
        public var presharedKeyFile: String?
        /// The HA group this gateway belongs to (`group:`), as the shared peer list declares it. Election
        /// messages and group claims for a group are accepted only from its declared members.
        public var group: String? = nil
    }

    /// `limits:` — how much one peer may make this gateway install, so a compromised or broken gateway
    /// cannot flood the routing table or WireGuard's allowed IPs.
    public struct LimitSettings: Sendable, Hashable {
        /// The most prefixes accepted from one gateway (default 256); the rest of a message is refused.
        public var maxRoutesPerPeer: Int
        /// The longest IPv4 prefix accepted (default 28).
        public var maxPrefixLengthIPv4: Int
        /// The longest IPv6 prefix accepted (default 64).
        public var maxPrefixLengthIPv6: Int

        public init(maxRoutesPerPeer: Int, maxPrefixLengthIPv4: Int, maxPrefixLengthIPv6: Int) {
            self.maxRoutesPerPeer = maxRoutesPerPeer
            self.maxPrefixLengthIPv4 = maxPrefixLengthIPv4
            self.maxPrefixLengthIPv6 = maxPrefixLengthIPv6
        }

        /// The defaults: 256 routes, /28, /64.
        public static let standard = LimitSettings(
            maxRoutesPerPeer: 256, maxPrefixLengthIPv4: 28, maxPrefixLengthIPv6: 64)
    }

    /// `control:` — the operator CLI's socket.
    public struct ControlSettings: Sendable, Hashable {
        /// Absolute path of the Unix socket (default `/run/meshgate/control.sock`).
        public var socket: String
    }

    /// `metrics:` — the Prometheus endpoint.
    public struct MetricsSettings: Sendable, Hashable {
        /// Address and port to listen on, for example `0.0.0.0:9586`.
        public var listen: Endpoint
    }

    /// `firewall:` — the gateway's own input baseline (default drop, see the README's "Policy").
    public struct FirewallSettings: Sendable, Hashable {
        /// Sources that may reach SSH and the metrics endpoint; never empty when the firewall is on, so
        /// turning it on cannot lock the operators out.
        public var managementSources: [IPPrefix]
        /// The SSH port opened to the management sources (default 22).
        public var sshPort: UInt16
    }

    /// `timers:` — protocol timing.
    public struct TimerSettings: Sendable, Hashable {
        /// HA hello period (default 100 ms, at least 10 ms).
        public var helloInterval: Duration
        /// A member silent this long is dead (default 400 ms, at least 3 hello intervals).
        public var deadInterval: Duration
        /// Periodic routes message period (default 5 s).
        public var advertiseInterval: Duration
        /// A gateway silent this long loses its routes (default 15 s, at least 2 advertise intervals).
        public var routeExpiry: Duration
    }

    /// `kernel:` — how learned routes are installed.
    public struct KernelSettings: Sendable, Hashable {
        /// Routing table id (default 254, `main`); `local` (255) and 0 are refused.
        public var routeTable: UInt32
        /// Route metric (priority), default 0.
        public var routeMetric: UInt32
    }

    public var node: NodeSettings
    public var overlay: OverlaySettings
    /// Canonical subnets behind this gateway (`advertise:`, default empty).
    public var advertise: [IPPrefix]
    /// Hosts behind some of the advertised subnets that answer ICMP echo (`advertise: [{prefix, probe}]`):
    /// the other gateways probe them end to end, through both gateways' forwarding.
    public var probeTargets: [IPPrefix: IPAddress] = [:]
    /// Whether `advertise` may hold public subnets, and learned public prefixes are accepted (default false).
    public var allowPublicSubnets: Bool
    public var ha: HASettings?
    /// The other gateways of the mesh, in file order, without this node's own entry.
    public var peers: [PeerSettings]
    /// This node's own entry when the file uses a peer list shared by every gateway; the daemon should
    /// check its `publicKey` against the private key.
    public var ownPeerEntry: PeerSettings?
    public var control: ControlSettings
    public var metrics: MetricsSettings?
    public var timers: TimerSettings
    public var kernel: KernelSettings
    public var limits: LimitSettings = .standard
    /// `policy_file:` — the least-privilege policy (HuJSON); nil: everything between sites is allowed.
    public var policyFile: String?
    /// The policy read from ``policyFile``, filled in by the loader (parsing the YAML reads no other file).
    public var policy: CompiledPolicy?
    /// `firewall:` with `enabled: true`; nil when off (the default for a hand-written configuration).
    public var firewall: FirewallSettings?

    /// Default values of optional keys.
    public enum Defaults {
        public static let listenPort: UInt16 = 51820
        public static let mtuBytes = 1280
        public static let priority: UInt8 = 100
        public static let stepDownHold: Duration = .seconds(10)
        public static let controlSocket = "/run/meshgate/control.sock"
        public static let helloInterval: Duration = .milliseconds(100)
        public static let deadInterval: Duration = .milliseconds(400)
        public static let advertiseInterval: Duration = .seconds(5)
        public static let routeExpiry: Duration = .seconds(15)
        public static let routeTable: UInt32 = 254
        public static let routeMetric: UInt32 = 0
    }

    /// Allowed overlay MTU range.
    public static let mtuRange = 1280...9000

    /// The peer named `name`, if configured.
    public func peer(named name: String) -> PeerSettings? {
        peers.first { $0.name == name }
    }

    /// The declared members of `group`: this node when it is in the group, and every peer whose entry
    /// says `group: <group>`.
    public func members(of group: String) -> Set<String> {
        var names = Set(peers.filter { $0.group == group }.map(\.name))
        if ha?.group == group { names.insert(node.name) }
        return names
    }

    /// Peer name → declared HA group, for peers that declare one.
    public var peerGroups: [String: String] {
        Dictionary(
            peers.compactMap { peer in peer.group.map { (peer.name, $0) } }, uniquingKeysWith: { first, _ in first })
    }

    /// Peer name → overlay address, for the route protocol's origin check.
    public var peerOverlayAddresses: [String: IPAddress] {
        Dictionary(peers.map { ($0.name, $0.overlayAddress) }, uniquingKeysWith: { first, _ in first })
    }

    /// Names of peers whose `key_expires` is at or before `secondsSince1970` (wall clock, passed in).
    public func peersWithExpiredKeys(atSecondsSince1970 now: Int64) -> [String] {
        peers.filter { $0.keyExpires?.isExpired(atSecondsSince1970: now) ?? false }.map(\.name)
    }
}
