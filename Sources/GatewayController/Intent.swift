public import CryptoPrimitives
public import NetworkTypes
public import Policy

/// What the kernel and the WireGuard engine should hold, as the controller decides it. The driver
/// syncs towards it by difference after every step and reports failures back as inputs.
public struct Intent: Sendable, Hashable {
    /// Changes exactly when `peers` or `routes` may have: the driver diffs them (they grow with the route
    /// table) only then.
    public var generation: UInt64
    /// Every peer the engine should know, by name.
    public var peers: [String: PeerIntent]
    /// The learned routes through the overlay (prefix → next-hop gateway), in ``routeTable`` with
    /// ``routeMetric``, plus a host route to each peer's overlay address.
    public var routes: [IPPrefix: String]
    public var routeTable: UInt32
    public var routeMetric: UInt32
    /// While true (the start-up window, before the first adverts could arrive) the sync adds and
    /// replaces routes but removes none, so a restart does not black-hole what the kernel still holds.
    public var keepStaleRoutes: Bool
    /// The LAN virtual IP to hold, and on which interface; nil when we are not the group's primary.
    public var virtualIP: VirtualIP?
    /// The nftables ruleset meshgate owns (its table is replaced as a whole).
    public var ruleset: Ruleset

    public struct VirtualIP: Sendable, Hashable {
        public var prefix: IPPrefix
        public var interface: String
        /// How long the kernel may answer ARP for it after the last renewal (``Ruleset/virtualIPGuard``): a
        /// dead interval less a hello interval, so a primary that stops running is silent before the standby
        /// takes over.
        public var lease: Duration
        /// How often the holder renews the lease: every hello interval.
        public var leaseRenewal: Duration
    }
}

/// One peer as the engine should hold it.
public struct PeerIntent: Sendable, Hashable {
    public var name: String
    public var publicKey: Key32
    /// The peer's overlay address: the kernel routes it through the overlay too.
    public var overlayAddress: IPAddress
    /// From the configuration; a roamed endpoint is the engine's business and is not overwritten unless
    /// this changes.
    public var endpoint: Endpoint?
    public var persistentKeepaliveSeconds: UInt16
    public var presharedKeyFile: String?
    /// The peer's overlay address and the subnets routed through it.
    public var allowedIPs: Set<IPPrefix>
}

/// The nftables state meshgate owns: one `inet` table. The MSS clamp is its first producer; the
/// least-privilege policy will be the next. Kept as a description so the controller stays pure; the
/// NFTables module turns it into rules.
public struct Ruleset: Sendable, Hashable {
    /// Clamp TCP MSS on packets crossing `interface` to fit `mtu` (RFC 6691), or nothing.
    public var mssClamp: MSSClamp?
    /// The IPv4 virtual IP whose ARP answers need a lease (an `arp` table of its own), whatever our
    /// role: a member of an HA group with an IPv4 VIP has one.
    public var virtualIPGuard: IPv4Address?

    /// The least-privilege policy to enforce on forwarded traffic (nil: everything is forwarded).
    public var policy: CompiledPolicy?
    /// The gateway's input baseline, when `firewall.enabled`.
    public var firewall: Firewall?
    /// The learned prefixes this gateway sends through a relay: transit towards them is dropped, so no
    /// packet crosses more than two tunnels.
    public var relayed: [IPPrefix] = []

    public struct MSSClamp: Sendable, Hashable {
        public var interface: String
        public var mtu: Int
    }

    /// What the input baseline opens.
    public struct Firewall: Sendable, Hashable {
        public var overlayInterface: String
        public var lanInterface: String?
        public var wireGuardPort: UInt16
        /// UDP ports meshgate serves inside the overlay: the route protocol and probes.
        public var overlayPorts: [UInt16]
        public var lanHelloPort: UInt16
        public var managementSources: [IPPrefix]
        /// SSH and, when configured, the metrics port.
        public var managementPorts: [UInt16]
    }
}
