import GatewayController
import Glibc
import KernelSync
import LinuxSystem
import Logging
import NFTables
import Netlink
import NetworkTypes
import Policy

/// Everything meshgated changes in the kernel, and the reconciliation that keeps it true.
///
/// Ownership marks: routes carry ``RouteNetlink/meshgateRouteProtocol`` (in any table), the
/// nftables tables are `inet meshgate` and `arp meshgate`, the overlay address sits on our own TUN interface, and the LAN
/// virtual IP carries a short valid lifetime that the primary keeps refreshing — so after a `kill -9`
/// the VIP expires by itself within ``virtualIPLifetime`` and a restart prunes our stale routes.
/// Not thread-safe: owned by the gateway's control loop.
final class KernelState {
    static let virtualIPLifetime: Duration = .seconds(2)

    private let netlink: RouteNetlink
    private let logger: Logger
    let overlayInterface: String
    private var routeTable: UInt32
    private var routeMetric: UInt32
    private(set) var overlayIndex: Int32 = 0
    /// Learned prefixes currently installed through the overlay.
    private(set) var installed: Set<IPPrefix> = []
    /// Wanted prefixes a foreign route keeps us from installing.
    private(set) var blocked: Set<IPPrefix> = []
    private(set) var forwarding: [String: Bool] = [:]
    private(set) var mssClampInstalled = false
    /// The policy the kernel enforces now (nil: none, everything between sites is forwarded).
    private(set) var enforcedPolicy: CompiledPolicy?
    private(set) var firewallInstalled = false
    private var virtualIP: InterfaceAddress?
    private var virtualIPLease: VirtualIPLease?
    /// Local address → interface name, for ``isWANHealthy(toward:)``.
    private var wanInterfaces: [IPAddress: String] = [:]
    private var nftables: NFTablesSocket?

    init(overlayInterface: String, routeTable: UInt32, routeMetric: UInt32, logger: Logger) throws {
        self.netlink = try RouteNetlink()
        self.overlayInterface = overlayInterface
        self.routeTable = routeTable
        self.routeMetric = routeMetric
        self.logger = logger
    }

    // MARK: - Overlay link

    /// MTU, overlay address (/32 or /128), link up. Routes to the peers' overlay addresses come with the
    /// learned routes, from ``syncRoutes(learned:peers:)``.
    func configureOverlay(address: IPAddress, mtu: Int) throws {
        guard let link = try netlink.link(named: overlayInterface) else {
            throw SystemError("overlay interface \(overlayInterface) not found", errno: ENODEV)
        }
        overlayIndex = link.index
        try netlink.setMTU(index: link.index, mtu: mtu)
        let length = address.isV4 ? 32 : 128
        try netlink.addAddress(
            InterfaceAddress(interfaceIndex: link.index, address: address, prefixLength: length), replace: true)
        try netlink.setLinkUp(index: link.index, up: true)
    }

    private func route(to prefix: IPPrefix) -> Route {
        Route(
            destination: prefix, interfaceIndex: overlayIndex, gateway: nil,
            protocolNumber: RouteNetlink.meshgateRouteProtocol, table: routeTable, metric: routeMetric, source: nil)
    }

    // MARK: - Routes (intent + sync)

    /// Moves our routes to another table or metric at the next sync (a reload of `kernel.*`).
    func setRouteTarget(table: UInt32, metric: UInt32) {
        routeTable = table
        routeMetric = metric
    }

    /// Makes our routes in the kernel exactly the learned prefixes plus the peers' overlay addresses
    /// (with `keepingStale`, at least those: nothing is removed),
    /// through the overlay, in the configured table and metric (``RouteSync``: read back, diff every
    /// attribute, one batch, never a route of another protocol). Returns what could not be installed
    /// because a foreign route holds its place; throws when a request failed (the caller retries).
    @discardableResult
    func syncRoutes(learned: Set<IPPrefix>, peers: [IPAddress], keepingStale: Bool = false) throws
        -> [RouteSync.Blocked]
    {
        let peerPrefixes = peers.compactMap { IPPrefix(address: $0, length: $0.isV4 ? 32 : 128) }
        let wanted = Set((Array(learned) + peerPrefixes).map(route(to:)))
        let outcome = try RouteSync.sync(wanted: wanted, netlink: netlink, keepingStale: keepingStale)
        for r in outcome.removed {
            logger.info("route removed", metadata: ["subnet": "\(r.destination)", "table": "\(r.table)"])
        }
        for r in outcome.added + outcome.replaced {
            logger.info("route installed", metadata: ["subnet": "\(r.destination)", "dev": "\(overlayInterface)"])
        }
        for blocked in outcome.blocked where !self.blocked.contains(blocked.wanted.destination) {
            logger.warning("\(blocked)")
        }
        self.blocked = Set(outcome.blocked.map(\.wanted.destination))
        let failed = Set(
            outcome.failures.map { failure -> IPPrefix? in
                switch failure.request {
                case .addRoute(let r), .replaceRoute(let r), .deleteRoute(let r): r.destination
                default: nil
                }
            }.compactMap { $0 })
        installed = learned.subtracting(self.blocked).subtracting(failed)
        if let first = outcome.failures.first {
            throw SystemError(
                "\(outcome.failures.count) route update(s) refused, first \(first.request)", errno: first.errno)
        }
        return outcome.blocked
    }

    /// Removes every route we own, in every table (clean stop).
    func removeAllRoutes() {
        _ = try? RouteSync.sync(wanted: [], netlink: netlink)
        installed = []
    }

    // MARK: - LAN virtual IP

    /// Holds (or refreshes) the virtual IP on the LAN interface; with `announce`, also sends one
    /// announcement (``announceVirtualIP(_:on:)``).
    func holdVirtualIP(_ prefix: IPPrefix, on interface: String, announce: Bool) throws {
        guard let link = try netlink.link(named: interface) else {
            throw SystemError("LAN interface \(interface) not found", errno: ENODEV)
        }
        let address = InterfaceAddress(interfaceIndex: link.index, address: prefix.address, prefixLength: prefix.length)
        try netlink.addAddress(
            address, replace: true,
            lifetime: AddressLifetime(valid: KernelState.virtualIPLifetime, preferred: KernelState.virtualIPLifetime))
        virtualIP = address
        if announce { sendAnnouncement(prefix.address, link: link) }
    }

    /// Tells the LAN that the virtual IP is here now: a gratuitous ARP for IPv4, an unsolicited neighbour
    /// advertisement (RFC 4861 §7.2.6) for IPv6.
    func announceVirtualIP(_ prefix: IPPrefix, on interface: String) {
        guard let link = try? netlink.link(named: interface) else { return }
        sendAnnouncement(prefix.address, link: link)
    }

    private func sendAnnouncement(_ address: IPAddress, link: Link) {
        do {
            switch address {
            case .v4(let v4):
                try GratuitousARP.announce(
                    address: v4, interfaceIndex: link.index, hardwareAddress: link.hardwareAddress)
            case .v6(let v6):
                try UnsolicitedNeighborAdvertisement.announce(
                    address: v6, interfaceIndex: link.index, hardwareAddress: link.hardwareAddress)
            }
        } catch {
            logger.warning("announcing virtual IP \(address) failed: \(error)")
        }
    }

    /// Drops the virtual IP (standby, or a stale one left by a killed predecessor).
    func releaseVirtualIP(_ prefix: IPPrefix, on interface: String) {
        guard let link = try? netlink.link(named: interface) else { return }
        let address = InterfaceAddress(interfaceIndex: link.index, address: prefix.address, prefixLength: prefix.length)
        let present =
            (try? netlink.addresses(family: prefix.address.isV4 ? .v4 : .v6, interfaceIndex: link.index))?
            .contains { $0.address == prefix.address } ?? false
        if present { try? netlink.deleteAddress(address) }
        virtualIP = nil
        // No more ARP answers for it either, even before the address is gone everywhere.
        if let lease = virtualIPLease { try? leaseSocket()?.revoke(lease) }
    }

    // MARK: - The virtual IP's ARP lease (see NFTables.VirtualIPLease)

    var hasVirtualIPGuard: Bool { virtualIPLease != nil }

    /// Installs (or replaces) table `arp meshgate`, which drops ARP for `address` without a lease.
    func installVirtualIPGuard(_ address: IPv4Address) throws {
        let lease = VirtualIPLease(address: withUnsafeBytes(of: address.value.bigEndian) { Array($0) })
        guard let socket = leaseSocket() else { throw SystemError("cannot open an nftables socket", errno: EIO) }
        try socket.apply(lease.ruleset)
        virtualIPLease = lease
    }

    func removeVirtualIPGuard() {
        try? leaseSocket()?.removeARPTable(named: MSSClampRuleset.defaultTableName)
        virtualIPLease = nil
    }

    /// Lets the kernel answer ARP for the virtual IP for `duration` from now.
    func renewVirtualIPLease(for duration: Duration) throws {
        guard let lease = virtualIPLease else { return }
        guard let socket = leaseSocket() else { throw SystemError("cannot open an nftables socket", errno: EIO) }
        try socket.renew(lease, for: duration)
    }

    /// One socket for the renewals (ten a second while primary), opened on first use.
    private func leaseSocket() -> NFTablesSocket? {
        if let socket = nftables { return socket }
        nftables = try? NFTablesSocket()
        return nftables
    }

    /// The subnets connected on `interface` (its addresses' networks), which learned routes must not
    /// overlap. Empty when the interface is missing.
    func connectedPrefixes(on interface: String) -> [IPPrefix] {
        guard let link = try? netlink.link(named: interface),
            let addresses = try? netlink.addresses(family: .all, interfaceIndex: link.index)
        else { return [] }
        return addresses.compactMap { IPPrefix(address: $0.address, length: $0.prefixLength)?.canonical }
    }

    /// Whether this gateway can reach the mesh at all: a route toward at least one peer endpoint, out of an
    /// interface that is up with carrier (the WAN side a primary needs; true when no peer has an endpoint).
    /// A cut beyond the first hop is not seen here.
    func isWANHealthy(toward endpoints: [Endpoint]) -> Bool {
        guard !endpoints.isEmpty else { return true }
        for endpoint in endpoints {
            guard let source = routeSource(toward: endpoint) else { continue }
            // The interface holding the source address, from a cache refreshed only when it misses: this
            // runs every hello interval, and two netlink dumps each time were most of its cost.
            if wanInterfaces[source] == nil, let addresses = try? netlink.addresses(family: .all),
                let links = try? netlink.links()
            {
                let names = Dictionary(links.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
                wanInterfaces = Dictionary(
                    addresses.compactMap { address in names[address.interfaceIndex].map { (address.address, $0) } },
                    uniquingKeysWith: { a, _ in a })
            }
            guard let name = wanInterfaces[source] else { continue }
            guard let link = try? netlink.link(named: name) else {
                wanInterfaces = [:]  // renamed or gone: look again next time
                continue
            }
            if link.isUp && link.hasCarrier { return true }
        }
        return false
    }

    /// True when the LAN interface is up with carrier.
    func isLANHealthy(_ interface: String) -> Bool {
        guard let link = try? netlink.link(named: interface) else { return false }
        return link.isUp && link.hasCarrier
    }

    // MARK: - Forwarding and MSS clamping

    /// Switches IPv4 and IPv6 forwarding on; returns what was found before (false = someone turned it off).
    @discardableResult
    func ensureForwarding() -> [String: Bool] {
        var before: [String: Bool] = [:]
        for (family, path) in [("ipv4", Sysctl.ipv4Forwarding), ("ipv6", Sysctl.ipv6Forwarding)] {
            // IPv6 disabled on this host (no sysctl): nothing to forward, nothing to report.
            guard access(path, F_OK) == 0 else { continue }
            // A read that fails (EMFILE under a descriptor flood, say) is an error to report, not "off".
            let value: String
            do {
                value = try Sysctl.read(path)
            } catch {
                logger.error("cannot read \(path): \(error)")
                continue
            }
            before[family] = value == "1"
            if value != "1" {
                do {
                    try Sysctl.write(path, "1")
                } catch {
                    logger.error("cannot enable \(family) forwarding: \(error)")
                }
            }
            forwarding[family] = ((try? Sysctl.read(path)) ?? "0") == "1"
        }
        return before
    }

    /// The NFLOG group the table's denied-packet logs go to (read by `Gateway.startDeniedFlowAudit()`).
    static let deniedLogGroup: UInt16 = 5182

    /// Replaces meshgate's `inet` table — clamp, policy, input baseline — in one transaction. A policy
    /// swapped this way never leaves a moment without one; established flows keep their conntrack entries.
    func installRuleset(
        clamp: Ruleset.MSSClamp, policy: CompiledPolicy?, firewall: Ruleset.Firewall?, relayed: [IPPrefix],
        wireGuardPort: UInt16
    ) throws {
        let socket = try NFTablesSocket()
        let clampRules = try MSSClampRuleset.forOverlay(interface: clamp.interface, mtu: clamp.mtu)
        let policyRules = policy.map {
            PolicyRuleset(tables: $0.tables, overlayInterface: clamp.interface, logGroup: Self.deniedLogGroup)
        }
        let firewallRules = firewall.map {
            GatewayFirewall(
                overlayInterface: $0.overlayInterface, lanInterface: $0.lanInterface, wireGuardPort: $0.wireGuardPort,
                overlayPorts: $0.overlayPorts, lanHelloPort: $0.lanHelloPort, managementSources: $0.managementSources,
                managementPorts: $0.managementPorts, logGroup: Self.deniedLogGroup)
        }
        try socket.apply(
            GatewayRuleset(
                clamp: clampRules, policy: policyRules, firewall: firewallRules,
                relayGuard: RelayGuard(overlayInterface: clamp.interface, relayed: relayed),
                wireGuardPort: wireGuardPort))
        mssClampInstalled = true
        enforcedPolicy = policy
        firewallInstalled = firewall != nil
        do {
            rulesetFingerprint = try socket.ruleFingerprint(table: MSSClampRuleset.defaultTableName)
        } catch {
            rulesetFingerprint = nil
            logger.error("cannot read back table inet meshgate (\(error)): changes to it will not be noticed")
        }
        driftReported = false
    }

    /// A drift was reported and no install succeeded since: the same drift is not reported every second.
    private var driftReported = false

    /// The rules of `inet meshgate` as installed (``NFTablesSocket/ruleFingerprint(table:)``).
    private var rulesetFingerprint: [String]?

    /// What changed in `inet meshgate` since we installed it, or nil when nothing did (or it is not ours
    /// to check: not installed, or the read failed).
    func rulesetDrift() -> String? {
        guard mssClampInstalled, !driftReported, let expected = rulesetFingerprint,
            let socket = try? NFTablesSocket()
        else { return nil }
        let drift: String?
        do {
            let found = try socket.ruleFingerprint(table: MSSClampRuleset.defaultTableName)
            let missing = Set(expected).subtracting(found).count
            let added = Set(found).subtracting(expected).count
            drift = found == expected ? nil : "\(missing) of \(expected.count) rules gone, \(added) foreign added"
        } catch .tableNotFound {
            drift = "the table was deleted"
        } catch {
            drift = nil
        }
        if drift != nil { driftReported = true }
        return drift
    }

    /// Other tables' base chains on the forward hook that can drop a packet (policy drop, or any rule),
    /// described; empty when there are none (the usual case: the chain dump is all it costs).
    func foreignForwardFilters() -> [String] {
        guard let socket = try? NFTablesSocket(),
            let chains = try? socket.baseChains(excludingTable: MSSClampRuleset.defaultTableName)
        else { return [] }
        let forward = chains.filter { $0.hook == "forward" }
        guard !forward.isEmpty else { return [] }
        // Counting rules dumps every rule of every table (large on a Docker or kube-proxy host): again only
        // when the chains change, or every 10 s.
        let now = ContinuousClock.now
        if forward != ruleCountCache.chains || now - ruleCountCache.at > .seconds(10) {
            ruleCountCache = (forward, (try? socket.ruleCounts()) ?? [:], now)
        }
        let counts = ruleCountCache.counts
        return forward.compactMap { chain in
            let rules = counts["\(chain.family) \(chain.table) \(chain.chain)"] ?? 0
            guard chain.dropsByDefault || rules > 0 else { return nil }
            return "\(chain) with \(rules) rule\(rules == 1 ? "" : "s")"
        }
    }

    private var ruleCountCache: (chains: [BaseChainSummary], counts: [String: Int], at: ContinuousClock.Instant) = (
        [], [:], ContinuousClock.now
    )

    /// The IPv4 forwarding switch of each of `interfaces` (sysctl name → on); interfaces that are not
    /// there are left out.
    func interfaceForwarding(_ interfaces: [String]) -> [String: Bool] {
        var result: [String: Bool] = [:]
        for interface in interfaces {
            guard let value = try? Sysctl.read("/proc/sys/net/ipv4/conf/\(interface)/forwarding") else { continue }
            result["net.ipv4.conf.\(interface).forwarding"] = value == "1"
        }
        return result
    }

    /// Our addresses inside `subnets` (never `excluding`, the virtual IP), with their interfaces: where the
    /// LAN side is.
    func lanAddresses(in subnets: [IPPrefix], excluding: IPAddress?) -> [(address: IPAddress, interface: String)] {
        guard let addresses = try? netlink.addresses(family: .all, interfaceIndex: nil),
            let links = try? netlink.links()
        else { return [] }
        let names = Dictionary(links.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
        return addresses.compactMap { entry in
            guard entry.address != excluding, subnets.contains(where: { $0.contains(entry.address) }),
                let name = names[entry.interfaceIndex]
            else { return nil }
            return (entry.address, name)
        }
    }

    /// The named counters of meshgate's table (policy rules, `deny_forward`, `deny_input`).
    static func policyCounters() -> [String: RuleCounters] {
        (try? NFTablesSocket().namedCounters(table: MSSClampRuleset.defaultTableName)) ?? [:]
    }

    /// Deletes a relay drill's table (``PathBlock``), if one is there.
    func removeDrillBlock() {
        if let socket = try? NFTablesSocket() { try? socket.removeTable(named: PathBlock.tableName) }
    }

    func removeMSSClamp() {
        if let socket = try? NFTablesSocket() { try? socket.removeTable(named: MSSClampRuleset.defaultTableName) }
        mssClampInstalled = false
        enforcedPolicy = nil
        firewallInstalled = false
    }

    func mssClampedPackets() -> UInt64 {
        (try? NFTablesSocket().clampCounters(table: MSSClampRuleset.defaultTableName).packets) ?? 0
    }
}
