public import ControlProtocol
public import CryptoPrimitives
import Dataplane
import Foundation
public import GatewayConfig
import Glibc
import LinuxSystem
public import Logging
import Netlink
import NetworkTypes
import Routing
import Synchronization
import Telemetry
import WireGuard

/// One running gateway: the WireGuard device, the kernel state, route advertisement and the HA election,
/// wired together and driven by one control-loop thread.
///
/// Loop (every ``loopInterval``, or sooner when a control message arrives): read hellos and adverts from
/// the overlay → feed the election and the route table → tick the election and expire routes → act on
/// role changes (virtual IP, gratuitous ARP, triggered hello and advert) → recompute the next hop of every
/// subnet and, when it changed, update WireGuard's allowed IPs and the kernel routes together → send the
/// periodic hello and advert. State lives behind one lock so the control socket can read it and drills can
/// act on the election.
public final class Gateway: @unchecked Sendable {
    /// UDP port of gateway-to-gateway control messages, inside the tunnel.
    public static let controlPort: UInt16 = 51821
    /// UDP port of drill probes and step-down requests.
    public static let probePort: UInt16 = 51822
    static let loopInterval: Int32 = 10  // ms
    public static let version = ControlProtocol.softwareVersion

    /// The configuration in force; replaced as a whole by ``reload(path:)``. Reading takes a short lock of
    /// its own, so the loop (which holds `lock`) and the control thread can both read it.
    var config: GatewayConfiguration { configLock.withLock { storedConfig } }
    private var storedConfig: GatewayConfiguration
    private let configLock = PThreadMutex()
    /// Where the configuration came from, for reloads.
    public var configPath: String?
    let logger: Logger
    let device: Device
    let uapi: UAPIServer
    let kernel: KernelState
    let overlaySocket: DatagramSocket
    let probeSocket: DatagramSocket
    let lock = PThreadMutex()
    /// A drill, key rotation or reload is running (they are exclusive; reads are not).
    let operationInProgress = Atomic<Bool>(false)
    private var thread: OSThread?
    private let stopEvent: WakeEvent
    /// This gateway's public key; changes on `rotate-key`. Guarded by `lock`.
    var publicKey: Key32
    /// Every peer's current public key by name: the config's, until a peer announces a rotation.
    var peerKeys: [String: Key32]
    let startedAt: Timestamp

    // MARK: State (guarded by `lock`)
    var routeTable: RouteTable
    var election: PrimaryElection?
    /// One counter for every message kind, seeded from the wall clock so a restarted gateway's messages
    /// are never mistaken for stale ones.
    var messageCounter: MessageCounter
    var lastHelloAt = Timestamp.zero
    var lastAdvertAt = Timestamp.zero
    var lastLANCheckAt = Timestamp.zero
    var lastVIPRefreshAt = Timestamp.zero
    /// When to announce the virtual IP again after a takeover (``announcementSchedule(after:)``).
    var vipAnnouncements: [Timestamp] = []
    var lastForwardingCheckAt = Timestamp.zero
    var lanHealthy = true
    var nextHops: [IPPrefix: String] = [:]
    var withoutPrimary: [IPPrefix] = []
    /// The allowed IPs last given to the engine, prefix → peer name.
    var appliedAllowedIPs: [IPPrefix: String] = [:]
    /// Learned prefixes refused for lying inside another HA group's subnet (reported on change).
    var refusedInsideGroups: [IPPrefix] = []
    var lastRouteChangeAt: Timestamp?
    var advertisedNow: [IPPrefix]
    var pendingTriggeredAdvert = false
    /// The last kernel route update failed; retried every loop step.
    var kernelRoutesDirty = false
    /// Peers that acknowledged our announced new key (during a rotation).
    var keyRotationAcks: Set<String> = []
    let audit: AuditLog
    let metrics = MetricsRegistry(version: Gateway.version)
    /// Subnets with a `meshgate_route_primary` series, so withdrawn ones can be removed.
    var exportedSubnets: Set<IPPrefix> = []
    var metricsServer: MetricsServer?
    /// Refused route-protocol messages by reason (decode error label or `sender_mismatch`), for the metric.
    var routeMessageDrops: [String: UInt64] = [:]
    /// Handshake outcomes by result label (`completed`, `refused`, `timed_out`), for the metric.
    var handshakeTotals: [String: UInt64] = [:]
    let probes: OverlayProbes
    var peersUp: Set<String> = []
    var lastHousekeepingAt = Timestamp.zero
    var keyExpiryEnforced: Set<String> = []
    var keyExpiryWarnedAt: [String: Timestamp] = [:]
    /// Refused handshake messages by reason since the last audit summary.
    var refusedHandshakes: [String: Int] = [:]
    var lastRefusalSummaryAt = Timestamp.zero

    public init(config: GatewayConfiguration, privateKey: Key32, logger: Logger) throws {
        self.storedConfig = config
        self.logger = logger
        self.stopEvent = try WakeEvent()
        self.startedAt = Gateway.now()
        self.audit = AuditLog(node: config.node.name)
        self.advertisedNow = config.advertise
        let wall = SystemClock.wallTime()
        self.messageCounter = MessageCounter(
            wallClockNanoseconds: UInt64(wall.seconds) * 1_000_000_000 + UInt64(wall.nanoseconds))
        self.routeTable = RouteTable(
            expiry: config.timers.routeExpiry, policy: Gateway.routePolicy(for: config, connectedLAN: []))

        // The WireGuard interface first: everything else hangs off it.
        device = try Device(interfaceName: config.overlay.interface, random: SystemRandom(), logger: logger)
        uapi = try UAPIServer(device: device, report: { [logger] in logger.error("UAPI socket: \($0)") })
        publicKey = X25519.publicKey(for: privateKey)
        peerKeys = Dictionary(uniqueKeysWithValues: config.peers.map { ($0.name, $0.publicKey) })
        var change = UAPIConfigurationChange()
        change.privateKey = privateKey
        change.listenPort = config.overlay.listenPort
        change.replacePeers = true
        for peer in config.peers where peer.name != config.node.name {
            var p = UAPIConfigurationChange.PeerChange(publicKey: peer.publicKey)
            p.endpoint = peer.endpoint
            if let keepalive = peer.persistentKeepalive {
                p.persistentKeepaliveInterval = UInt16(clamping: keepalive.components.seconds)
            }
            if let psk = peer.presharedKeyFile.flatMap({ Gateway.readKey(path: $0, key: "preshared_key_file") }) {
                p.presharedKey = psk
            }
            p.replaceAllowedIPs = true
            p.allowedIPs = [IPPrefix(address: peer.overlayAddress, length: peer.overlayAddress.isV4 ? 32 : 128)!]
            change.peers.append(p)
        }
        if let error = device.apply(change) { throw GatewayError.startup("WireGuard configuration: \(error)") }
        for peer in config.peers {
            appliedAllowedIPs[IPPrefix(address: peer.overlayAddress, length: peer.overlayAddress.isV4 ? 32 : 128)!] =
                peer.name
        }

        kernel = try KernelState(
            overlayInterface: device.interfaceName, routeTable: config.kernel.routeTable,
            routeMetric: config.kernel.routeMetric, logger: logger)
        if let ha = config.ha {
            routeTable.policy = Gateway.routePolicy(
                for: config, connectedLAN: kernel.connectedPrefixes(on: ha.lan.interface))
        }
        try device.setMTU(config.overlay.mtuBytes)
        try kernel.configureOverlay(address: config.overlay.address, mtu: config.overlay.mtuBytes)
        overlaySocket = try DatagramSocket(port: Gateway.controlPort, device: device.interfaceName)
        // Bound to the overlay: only datagrams WireGuard authenticated reach the probe responder and step-down.
        probeSocket = try DatagramSocket(port: Gateway.probePort, device: device.interfaceName)
        probes = try OverlayProbes(overlayAddress: config.overlay.address)
        if let ha = config.ha {
            election = PrimaryElection(
                configuration: .init(
                    name: config.node.name, group: ha.group, members: config.members(of: ha.group),
                    priority: ha.priority, preempt: ha.preempt,
                    preemptDelay: ha.preemptDelay, deadInterval: config.timers.deadInterval,
                    stepDownHold: ha.stepDownHold),
                now: startedAt, lanHealthy: kernel.isLANHealthy(ha.lan.interface))
        }
    }

    /// What this gateway accepts from its peers: the configured limits, the declared group memberships,
    /// and its own LAN (advertised and connected subnets), which no learned route may overlap.
    static func routePolicy(for config: GatewayConfiguration, connectedLAN: [IPPrefix]) -> RoutePolicy {
        var groups = config.peerGroups
        if let ha = config.ha { groups[config.node.name] = ha.group }
        return RoutePolicy(
            allowPublicSubnets: config.allowPublicSubnets,
            protectedAddresses: [config.overlay.address] + config.peers.map(\.overlayAddress),
            localSubnets: Set(config.advertise + connectedLAN), localGroup: config.ha?.group, groupOf: groups,
            maxRoutesPerGateway: config.limits.maxRoutesPerPeer, maxPrefixLengthIPv4: config.limits.maxPrefixLengthIPv4,
            maxPrefixLengthIPv6: config.limits.maxPrefixLengthIPv6)
    }

    static func now() -> Timestamp { Timestamp(nanoseconds: SystemClock.monotonicNanoseconds()) }

    static func readKey(path: String, key: String) -> Key32? {
        guard let file = try? SmallFile.read(path) else { return nil }
        return Key32(base64: file.text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    // MARK: - Lifecycle

    /// Reconciles the kernel with a clean slate of our own, then starts the packet threads and the loop.
    public func start() throws {
        do {
            try startUnchecked()
        } catch {
            // Leave nothing behind when start-up fails half-way.
            kernel.removeMSSClamp()
            kernel.removeAllRoutes()
            if let ha = config.ha { kernel.releaseVirtualIP(ha.lan.virtualIP, on: ha.lan.interface) }
            throw error
        }
    }

    private func startUnchecked() throws {
        // Start-up reconciliation: stale routes of ours go; a VIP left by a killed predecessor goes until
        // the election gives it back to us.
        try kernel.syncRoutes(learned: [], peers: config.peers.map(\.overlayAddress))
        if let ha = config.ha { kernel.releaseVirtualIP(ha.lan.virtualIP, on: ha.lan.interface) }
        let before = kernel.ensureForwarding()
        for (family, on) in before where !on { logger.notice("\(family) forwarding was off; switched it on") }
        try kernel.installMSSClamp(mtu: config.overlay.mtuBytes)
        device.eventHandler = { [weak self] event in
            guard let self else { return }
            self.lock.withLock {
                switch event {
                case .refused(let reason):
                    self.refusedHandshakes[reason.rawValue, default: 0] += 1
                    self.handshakeTotals["refused", default: 0] += 1
                case .completed: self.handshakeTotals["completed", default: 0] += 1
                case .gaveUp: self.handshakeTotals["timed_out", default: 0] += 1
                case .initiationSent, .initiationConsumed: break
                }
            }
        }
        try startMetricsServer()
        device.start()
        uapi.start()
        // The start-up wait (one dead interval of listening before any claim) counts from now, when the
        // loop starts hearing hellos, not from when the gateway was constructed: slow set-up steps must
        // not eat into it, or a restarted standby would claim before hearing the primary.
        if let current = election {
            election = PrimaryElection(
                configuration: current.configuration, now: Gateway.now(), lanHealthy: current.lanHealthy)
        }
        thread = OSThread(name: "mg-loop") { [self] in loop() }
        logger.info(
            "gateway \(config.node.name) up: \(device.interfaceName) \(config.overlay.address) mtu \(config.overlay.mtuBytes), advertising \(config.advertise.map(\.description).joined(separator: ", "))"
        )
    }

    /// Hands the primary role over (if held), withdraws our routes from the mesh, then removes everything we
    /// added to the kernel.
    public func stop() {
        handOverBeforeStopping()
        stopEvent.signal()
        thread?.join()
        lock.withLock {
            let withdraw = Advertisement.withdraw(.init(sender: config.node.name, sequence: nextAdvertSequence()))
            broadcast(withdraw)
        }
        if let ha = config.ha { kernel.releaseVirtualIP(ha.lan.virtualIP, on: ha.lan.interface) }
        kernel.removeAllRoutes()
        kernel.removeMSSClamp()
        metricsServer?.stop()
        uapi.stop()
        device.stop()
        logger.info("gateway \(config.node.name) stopped; routes withdrawn and kernel state removed")
    }

    /// Installs a new configuration (after validation). Caller holds `lock`.
    func replaceConfig(_ new: GatewayConfiguration) {
        configLock.withLock { storedConfig = new }
    }

    /// A planned stop of the primary steps down first and waits (briefly) for a standby to take over, so a
    /// clean restart costs a hand-over (tens of ms) instead of a dead interval.
    private func handOverBeforeStopping() {
        let steppedDown: Bool = lock.withLock {
            guard var election, election.role == .primary else { return false }
            defer { self.election = election }
            guard case .steppedDown(let change) = election.stepDown(now: Gateway.now()) else { return false }
            logger.notice("stopping: handing the primary role over (\(change))")
            if let ha = config.ha { kernel.releaseVirtualIP(ha.lan.virtualIP, on: ha.lan.interface) }
            pendingTriggeredAdvert = true
            lastHelloAt = .zero  // the loop sends the standby claim at once
            return true
        }
        guard steppedDown else { return }
        let deadline = Gateway.now() + .milliseconds(500)
        while Gateway.now() < deadline {
            let handedOver = lock.withLock {
                guard let primary = election?.currentPrimary(now: Gateway.now()) else { return false }
                return primary.gateway != config.node.name
            }
            if handedOver { break }
            usleep(5000)
        }
    }

    // MARK: - The loop

    private func loop() {
        while !stopEvent.wait(milliseconds: 0) {
            // Probe answers are timed, so the probe sockets wake the loop too.
            _ = waitAnyReadable([overlaySocket, probeSocket, probes.socket], milliseconds: Gateway.loopInterval)
            let now = Gateway.now()
            lock.withLock { step(now: now) }
        }
    }

    /// One iteration of the control loop. Caller holds `lock`.
    func step(now: Timestamp) {
        var roleChanges: [PrimaryElection.RoleChange] = []
        // Probes first, so measured RTTs do not include the rest of this step's work.
        if let change = serviceProbePort(now: now) { roleChanges.append(change) }
        while let (bytes, source) = overlaySocket.receive() {
            if let change = receive(bytes, from: source, now: now) { roleChanges.append(change) }
        }
        if let ha = config.ha, now.duration(since: lastLANCheckAt) >= config.timers.helloInterval {
            lastLANCheckAt = now
            let healthy = kernel.isLANHealthy(ha.lan.interface)
            if healthy != lanHealthy {
                lanHealthy = healthy
                logger.warning("LAN interface \(ha.lan.interface) is \(healthy ? "back" : "DOWN")")
            }
            if let change = election?.lanHealth(healthy, now: now) { roleChanges.append(change) }
        }
        if let change = election?.tick(now: now) { roleChanges.append(change) }
        for change in roleChanges { act(on: change, now: now) }

        for change in routeTable.expire(now: now) { noteRouteChange(change) }
        recomputeRoutes(now: now)
        probes.step(
            now: now,
            peers: config.peers.filter { $0.name != config.node.name && !keyExpiryEnforced.contains($0.name) }
                .map { ($0.name, $0.overlayAddress) })
        if now.duration(since: lastHousekeepingAt) >= .seconds(1) {
            lastHousekeepingAt = now
            housekeeping(now: now)
        }

        if now.duration(since: lastHelloAt) >= config.timers.helloInterval || !roleChanges.isEmpty {
            sendHello(now: now)
        }
        if now.duration(since: lastAdvertAt) >= config.timers.advertiseInterval || pendingTriggeredAdvert
            || !roleChanges.isEmpty
        {
            sendAdvert(now: now)
        }
        if let ha = config.ha, election?.role == .primary, let next = vipAnnouncements.first, now >= next {
            vipAnnouncements.removeFirst()
            kernel.announceVirtualIP(ha.lan.virtualIP, on: ha.lan.interface)
        }
        if let ha = config.ha, election?.role == .primary,
            now.duration(since: lastVIPRefreshAt) >= .milliseconds(500)
        {
            lastVIPRefreshAt = now
            try? kernel.holdVirtualIP(ha.lan.virtualIP, on: ha.lan.interface, announce: false)
        }
        if now.duration(since: lastForwardingCheckAt) >= .seconds(1) {
            lastForwardingCheckAt = now
            for (family, on) in kernel.ensureForwarding() where !on {
                logger.critical("\(family) forwarding was switched OFF by someone; switched it back on")
            }
        }
    }

    /// Handles one control datagram; returns a role change it caused.
    private func receive(_ bytes: [UInt8], from source: Endpoint, now: Timestamp) -> PrimaryElection.RoleChange? {
        if bytes.starts(with: Gateway.keyRotationMagic) || bytes.starts(with: Gateway.keyRotationAckMagic) {
            receiveKeyRotation(bytes, from: source)
            return nil
        }
        let message: Advertisement
        switch Advertisement.decode(bytes) {
        case .success(let m): message = m
        case .failure(let error):
            routeMessageDrops[error.label, default: 0] += 1
            logger.debug("control message from \(source) dropped: \(error)")
            return nil
        }
        guard message.isSent(from: source.address, overlayAddresses: config.peerOverlayAddresses),
            message.sender != config.node.name
        else {
            routeMessageDrops["sender_mismatch", default: 0] += 1
            logger.warning("control message claiming to be from \(message.sender) arrived from \(source); dropped")
            return nil
        }
        // A gateway we hold no routes from (new, or restarted) gets our routes now rather than at the next
        // periodic advert, so a restarted standby is never blind when the primary fails.
        if case .withdraw = message {
        } else if !routeTable.liveEntries(now: now).contains(where: { $0.gateway == message.sender }) {
            pendingTriggeredAdvert = true
        }
        switch message {
        case .hello(let hello):
            guard var election, hello.group == election.configuration.group else { return nil }
            defer { self.election = election }
            return election.receivedHello(hello, now: now)
        case .routes, .withdraw:
            for change in routeTable.apply(message, from: message.sender, now: now) { noteRouteChange(change) }
            return nil
        }
    }

    private func act(on change: PrimaryElection.RoleChange, now: Timestamp) {
        guard let ha = config.ha else { return }
        logger.notice("HA group \(ha.group): \(change)")
        audit.record(
            "primary_changed",
            [
                "group": ha.group, "role": change.to.description, "term": Int(clamping: change.term),
                "primary": change.to == .primary
                    ? config.node.name : (election?.currentPrimary(now: now)?.gateway ?? ""),
                "reason": change.reason.description,
            ])
        if change.to == .primary {
            // Term 1 is the first election at start-up, not a failover. The duration is how long the group
            // had no usable primary: the silence that was detected, zero for a planned hand-over.
            if change.term > 1 {
                var duration = Duration.zero
                if case .primarySilent(_, let silence) = change.reason { duration = silence }
                metrics.recordFailover(group: ha.group, duration: duration)
            }
            do {
                try kernel.holdVirtualIP(ha.lan.virtualIP, on: ha.lan.interface, announce: true)
                lastVIPRefreshAt = now
                vipAnnouncements = Gateway.announcementSchedule(after: now)
            } catch {
                logger.error("cannot take virtual IP \(ha.lan.virtualIP): \(error)")
            }
        } else {
            vipAnnouncements = []
            kernel.releaseVirtualIP(ha.lan.virtualIP, on: ha.lan.interface)
        }
        pendingTriggeredAdvert = true
    }

    /// After the announcement sent on takeover, four more 100 ms apart, as VRRP implementations repeat
    /// theirs (keepalived: `garp_master_repeat 5`), so a LAN host or switch that missed one still learns
    /// where the virtual IP went. The burst ends within one dead interval. keepalived's delayed second
    /// burst (`garp_master_delay`) is left out on purpose: in a partition between the pair, a primary's
    /// late burst would take the LAN back from the newer claimant that the rest of the mesh routes to, and
    /// the return path would then break on the far side's cryptokey routing.
    static func announcementSchedule(after takeover: Timestamp) -> [Timestamp] {
        (1...4).map { takeover + .milliseconds(100 * $0) }
    }

    /// Recomputes every subnet's next hop; on change, moves WireGuard allowed IPs and kernel routes together.
    func recomputeRoutes(now: Timestamp) {
        let desired = DesiredRoutes(
            table: routeTable, now: now, reports: election?.reports(now: now) ?? [], previous: nextHops)
        // Our own subnets never go through the overlay, even while a drill withdraws one of them.
        let own = Set(config.advertise).union(advertisedNow)
        let hops = desired.nextHops.filter { !own.contains($0.key) && $0.value != config.node.name }
        withoutPrimary = desired.withoutPrimary
        if desired.refusedInsideGroups != refusedInsideGroups {
            for prefix in desired.refusedInsideGroups where !refusedInsideGroups.contains(prefix) {
                let by = routeTable.advertisers(of: prefix, now: now).map(\.gateway).joined(separator: ",")
                logger.warning("refused \(prefix) from \(by): it lies inside a subnet another HA group advertises")
                audit.record(
                    "route_rejected",
                    ["subnet": prefix.description, "gateway": by, "reason": "inside another HA group's subnet"])
            }
            refusedInsideGroups = desired.refusedInsideGroups
        }
        if hops == nextHops && kernelRoutesDirty {
            retryKernelRoutes()
            return
        }
        guard hops != nextHops else { return }
        for (prefix, gateway) in hops where nextHops[prefix] != gateway {
            logger.info("subnet \(prefix) now via \(gateway)")
            if let previous = nextHops[prefix] {
                audit.record(
                    "primary_changed",
                    [
                        "subnet": prefix.description, "from": previous, "to": gateway,
                        "reason": "\(gateway) now claims primary for the subnet's group",
                    ])
            }
        }
        for prefix in nextHops.keys where hops[prefix] == nil { logger.info("subnet \(prefix) withdrawn") }
        nextHops = hops
        lastRouteChangeAt = now
        applyAllowedIPs()
        retryKernelRoutes()
    }

    /// Makes the kernel's routes match `nextHops`; on failure the next loop step tries again.
    func retryKernelRoutes() {
        do {
            try kernel.syncRoutes(learned: Set(nextHops.keys), peers: config.peers.map(\.overlayAddress))
            kernelRoutesDirty = false
        } catch {
            if !kernelRoutesDirty { logger.error("kernel route update failed (retrying): \(error)") }
            kernelRoutesDirty = true
        }
    }

    /// Each peer's allowed IPs: its overlay address plus the subnets routed to it, changed by difference
    /// from what was applied last (``AllowedIPsChange``). Peers whose engine entry was recreated (reload,
    /// key change) are dropped from `appliedAllowedIPs` first, so theirs are assigned again.
    func applyAllowedIPs() {
        var wanted: [IPPrefix: String] = [:]
        for peer in config.peers where !keyExpiryEnforced.contains(peer.name) {
            wanted[IPPrefix(address: peer.overlayAddress, length: peer.overlayAddress.isV4 ? 32 : 128)!] = peer.name
        }
        for (prefix, gateway) in nextHops where wanted[prefix] == nil { wanted[prefix] = gateway }
        let change = AllowedIPsChange(from: appliedAllowedIPs, to: wanted)
        guard !change.isEmpty else { return }
        let keys = peerKeys
        device.engine.withLock { engine in
            for prefix in change.removed { engine.removeAllowedIP(prefix) }
            for (prefix, name) in change.assigned {
                guard let key = keys[name], let peer = engine.peer(publicKey: key) else { continue }
                engine.addAllowedIP(prefix, for: peer)
            }
        }
        appliedAllowedIPs = wanted
    }

    // MARK: - Sending

    func nextAdvertSequence() -> UInt64 { messageCounter.next() }

    private func sendHello(now: Timestamp) {
        guard let election else { return }
        lastHelloAt = now
        broadcast(.hello(election.makeHello(sequence: messageCounter.next(), now: now)))
    }

    func sendAdvert(now: Timestamp) {
        lastAdvertAt = now
        pendingTriggeredAdvert = false
        var groups: [Advertisement.GroupStatus] = []
        if let ha = config.ha, let election {
            let primary = election.currentPrimary(now: now)
            groups.append(
                .init(
                    group: ha.group, priority: ha.priority, primary: primary?.gateway,
                    term: primary?.term ?? election.term))
        }
        let routes = advertisedNow.map { Advertisement.Route(prefix: $0, group: config.ha?.group) }
        broadcast(
            .routes(.init(sender: config.node.name, sequence: nextAdvertSequence(), groups: groups, routes: routes)))
    }

    /// Sends `message` to every peer's overlay address (inside the tunnel).
    func broadcast(_ message: Advertisement) {
        let bytes = message.encode()
        for peer in config.peers where peer.name != config.node.name {
            overlaySocket.send(bytes, to: Endpoint(address: peer.overlayAddress, port: Gateway.controlPort))
        }
    }
}

/// Failures that stop the gateway from starting.
public enum GatewayError: Error, CustomStringConvertible {
    case startup(String)

    public var description: String {
        switch self {
        case .startup(let message): message
        }
    }
}
