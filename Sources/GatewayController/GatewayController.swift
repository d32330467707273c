public import CryptoPrimitives
public import GatewayConfig
public import NetworkTypes
public import Policy
public import Routing
import Synchronization

/// The gateway's decisions, free of I/O: the HA election, the route table, the timers, the adverts
/// owed, drills and key rotation in progress, peer liveness and key expiry.
///
/// Driven only by ``step(now:inputs:)``: the inputs that arrived (datagrams, LAN health, sessions,
/// handshake outcomes, a reload, an operator's request) at a moment of an injected clock. Each step
/// returns an ``Output`` (datagrams to send, audit events, log lines, VIP announcements) and leaves an
/// ``intent`` (peers and their allowed IPs, routes, the virtual IP, the nftables ruleset) for the
/// driver to sync the kernel and the engine towards, and a ``nextDeadline`` to sleep until.
public struct GatewayController: Sendable {
    /// UDP port of gateway-to-gateway control messages, inside the tunnel.
    public static let controlPort: UInt16 = Advertisement.port
    /// UDP port of probes and step-down requests, inside the tunnel.
    public static let probePort: UInt16 = 51822
    /// How long a primary's kernel may answer ARP for the VIP after a lease renewal: a dead interval less one
    /// hello interval, so that a primary that stops running (its last renewal is at or after its last hello)
    /// has fallen silent before its partner's detection, a dead interval after that hello, runs out. At
    /// least two hello intervals, so one late loop step never silences a running primary.
    static func virtualIPLease(_ timers: GatewayConfiguration.TimerSettings) -> Duration {
        max(timers.deadInterval - timers.helloInterval, timers.helloInterval * 2)
    }
    /// UDP port of ``LANHello`` frames on the HA LAN.
    public static let lanHelloPort: UInt16 = 51823
    /// How often housekeeping runs (peer liveness, key expiry, summaries, metrics).
    public static let housekeepingInterval: Duration = .seconds(1)
    /// Warn this long before a peer's key expires.
    public static let keyExpiryWarning: Duration = .seconds(7 * 24 * 3600)
    /// Handshake refusals are summarised at most this often, so a flood cannot flood the audit log.
    public static let refusalSummaryInterval: Duration = .seconds(10)
    /// A failed kernel sync is retried this soon.
    public static let kernelRetryInterval: Duration = .milliseconds(100)
    /// WireGuard's reject-after-time (whitepaper §6.1): a session older than this carries nothing.
    public static let rejectAfterTimeSeconds: Int64 = 180

    // MARK: Configuration and identity
    public internal(set) var config: GatewayConfiguration { didSet { routeInputsChanged() } }
    /// Our public key; changes when a key rotation completes.
    public internal(set) var publicKey: Key32
    /// Every peer's current public key by name: the config's, until a peer announces a rotation.
    public internal(set) var peerKeys: [String: Key32] { didSet { intentGeneration = Self.newGeneration() } }
    /// The subnets connected on our LAN interface, which no learned route may overlap.
    public internal(set) var connectedLAN: [IPPrefix] { didSet { routeInputsChanged() } }
    /// The port our overlay probe socket listens on (answers come back there).
    let probeReplyPort: UInt16
    public let startedAt: Timestamp

    // MARK: Decisions
    public internal(set) var election: PrimaryElection?
    public internal(set) var routeTable: RouteTable
    var messageCounter: MessageCounter
    /// Each learned subnet's next-hop gateway.
    public internal(set) var nextHops: [IPPrefix: String] = [:] { didSet { intentGeneration = Self.newGeneration() } }
    /// Our group's primary when it is another member: it may relay through us (``peersAndRoutes``).
    var groupPrimaryElsewhere: String? {
        didSet { if groupPrimaryElsewhere != oldValue { intentGeneration = Self.newGeneration() } }
    }
    /// Direct links and the relays in use (``LinkMonitor``).
    public internal(set) var links = LinkMonitor()
    public internal(set) var withoutPrimary: [IPPrefix] = []
    /// Learned prefixes refused for lying inside another HA group's subnet (reported on change).
    public internal(set) var refusedInsideGroups: [IPPrefix] = []
    /// Learned prefixes refused, by reason (`not_approved` by the policy, `other`), for the metric.
    public internal(set) var routeRefusals: [String: UInt64] = [:]
    /// The policy digest each peer last announced (hex, or `none`).
    public internal(set) var peerPolicyDigests: [String: String] = [:]
    /// Prefixes the policy refused, with who advertised them: a health problem until the next reload.
    public internal(set) var unapprovedRoutes: [IPPrefix: String] = [:]
    public internal(set) var lastRouteChangeAt: Timestamp?
    /// What we advertise now: the configured subnets less those a withdrawal drill holds back.
    public internal(set) var advertisedNow: [IPPrefix] { didSet { routeInputsChanged() } }
    public internal(set) var lanHealthy: Bool
    /// The last ``Input/wanHealth(_:)``; the election sees LAN and WAN health as one.
    public internal(set) var wanHealthy = true
    public internal(set) var probes = ProbeTracker()
    /// End-to-end probes per remote subnet (keyed by the prefix's text), sent by a primary or a lone gateway.
    public internal(set) var paths = ProbeTracker()
    /// Where each peer's subnets can be probed (its probe-targets message).
    public internal(set) var peerProbeTargets: [String: [IPPrefix: IPAddress]] = [:]
    /// The LAN-side source of path probes (``Input/pathProbeSource(_:)``).
    public internal(set) var pathProbeSource: IPAddress?

    // MARK: Health
    public internal(set) var health = HealthMonitor()
    public internal(set) var kernelObservation: KernelObservation?
    /// How often each forwarding switch was found off (restored globally, or off on an interface).
    public internal(set) var forwardingSwitchedOff: [String: UInt64] = [:]
    var forwardingRestorations: [(name: String, at: Timestamp)] = []
    /// Changes found in meshgate's nftables table, recent ones and the total.
    var rulesetDrifts: [(change: String, at: Timestamp)] = []
    public internal(set) var rulesetDriftTotal: UInt64 = 0
    /// Which unit each learned prefix went to (``DesiredRoutes/units``).
    var routeUnits: [IPPrefix: String] = [:]
    /// Prefixes advertised outside one HA group (``DesiredRoutes/conflicts``).
    public internal(set) var routeConflicts: [RouteConflict] = []
    /// Our group's primary changes within ``Health/flapWindow``.
    var primaryChanges: [Timestamp] = []
    var lastSeenPrimary: String?
    /// When our own key last changed (a completed rotation).
    var lastKeyChangeAt: Timestamp?
    /// Probe targets taken from one peer at most (the rest of its message is ignored).
    public static let probeTargetsPerPeer = 64
    // MARK: Change tracking (work at rest must not grow with routes or peers)
    /// Changes whenever something the peers-and-routes part of the ``intent`` depends on changes; a value
    /// no other controller ever had (``newGeneration()``), so copies that diverge never share one.
    public internal(set) var intentGeneration: UInt64 = GatewayController.newGeneration()
    /// Changes with the configuration, our advertised and connected subnets and enforced key expiries.
    var routeInputsGeneration: UInt64 = 0
    /// How often the routes were computed: what is exported from ``nextHops`` and ``withoutPrimary``
    /// needs refreshing only when this moved.
    public internal(set) var routeComputations: UInt64 = 0
    /// What ``recomputeRoutes(now:out:)`` last computed from: unchanged inputs, unchanged result.
    var lastRouteInputs: RouteInputs?
    /// The peers and routes of the intent for ``intentGeneration`` (a box: `intent` is a getter).
    let intentCache = IntentCache()

    private static let generations = Atomic<UInt64>(1)
    static func newGeneration() -> UInt64 { generations.add(1, ordering: .relaxed).newValue }

    mutating func routeInputsChanged() {
        routeInputsGeneration &+= 1
        intentGeneration = Self.newGeneration()
    }

    /// Explain answers sent to each peer in the current second (``explainAnswersPerSecond``).
    var explainBudgets: [String: (second: Int64, count: Int)] = [:]
    public internal(set) var keyRotation: KeyRotation?

    // MARK: Peers
    public internal(set) var peersUp: Set<String> = []
    public internal(set) var keyExpiryEnforced: Set<String> = [] { didSet { routeInputsChanged() } }
    var keyExpiryWarnedAt: [String: Timestamp] = [:]
    var sessions: PeerSessions?

    // MARK: Counters (for metrics)
    /// Refused route-protocol messages by reason (decode error label or `sender_mismatch`).
    public internal(set) var routeMessageDrops: [String: UInt64] = [:]
    /// Handshake outcomes by result label (`completed`, `refused`, `timed_out`).
    public internal(set) var handshakeTotals: [String: UInt64] = [:]
    var refusedHandshakes: [String: Int] = [:]
    var lastRefusalSummaryAt: Timestamp

    // MARK: Timers
    var nextHelloAt: Timestamp
    var nextAdvertAt: Timestamp
    var pendingTriggeredAdvert = true
    var nextLANCheckAt: Timestamp
    var nextHousekeepingAt: Timestamp
    /// When to announce the virtual IP again after a takeover (``announcementSchedule(after:)``).
    var vipAnnouncements: [Timestamp] = []
    /// After a step that came more than a dead interval after the previous one while primary (the process
    /// was frozen or starved, and the partner has likely taken over), the virtual IP stays out of the intent
    /// until then: the group's hellos, which may already be on their way, decide first.
    var stalledUntil: Timestamp?
    /// The newest hello sequence heard from each member, over either path (LAN hellos must be newer).
    var helloSequences: [String: UInt64] = [:]
    public internal(set) var kernelSyncFailure: String?
    var kernelRetryAt: Timestamp?
    /// Until then the kernel sync keeps routes of ours it does not (yet) want: see ``Intent/keepStaleRoutes``.
    let startUpWindowEnds: Timestamp
    var now: Timestamp

    /// - Parameters:
    ///   - wallClockNanoseconds: seeds the message counter, so a restarted gateway's messages are never
    ///     taken for stale ones.
    ///   - lanHealthy: the LAN's state at start.
    public init(
        config: GatewayConfiguration, publicKey: Key32, connectedLAN: [IPPrefix], lanHealthy: Bool,
        probeReplyPort: UInt16, now: Timestamp, wallClockNanoseconds: UInt64
    ) {
        self.config = config
        self.publicKey = publicKey
        self.peerKeys = Dictionary(config.peers.map { ($0.name, $0.publicKey) }, uniquingKeysWith: { a, _ in a })
        self.connectedLAN = connectedLAN
        self.probeReplyPort = probeReplyPort
        self.startedAt = now
        self.now = now
        self.messageCounter = MessageCounter(wallClockNanoseconds: wallClockNanoseconds)
        self.routeTable = RouteTable(
            expiry: config.timers.routeExpiry,
            policy: GatewayController.routePolicy(for: config, connectedLAN: connectedLAN))
        self.advertisedNow = config.advertise
        self.lanHealthy = lanHealthy
        self.nextHelloAt = now
        self.nextAdvertAt = now
        self.nextLANCheckAt = now + config.timers.helloInterval
        self.nextHousekeepingAt = now
        self.lastRefusalSummaryAt = now
        self.startUpWindowEnds = now + config.timers.advertiseInterval + config.timers.deadInterval
        if let ha = config.ha {
            election = PrimaryElection(
                configuration: .init(
                    name: config.node.name, group: ha.group, members: config.members(of: ha.group),
                    priority: ha.priority, preempt: ha.preempt, preemptDelay: ha.preemptDelay,
                    deadInterval: config.timers.deadInterval, stepDownHold: ha.stepDownHold,
                    helloInterval: config.timers.helloInterval),
                now: now, lanHealthy: lanHealthy)
        }
    }

    /// Starts the election's start-up wait again from `now`: the driver calls it when its loop starts
    /// hearing hellos, so slow set-up steps do not eat into the wait.
    public mutating func restartElectionClock(now: Timestamp) {
        self.now = max(self.now, now)
        guard let current = election else { return }
        election = PrimaryElection(configuration: current.configuration, now: now, lanHealthy: current.lanHealthy)
    }

    /// What this gateway accepts from its peers: the configured limits, the declared group memberships,
    /// and its own LAN (advertised and connected subnets), which no learned route may overlap.
    public static func routePolicy(for config: GatewayConfiguration, connectedLAN: [IPPrefix]) -> RoutePolicy {
        var groups = config.peerGroups
        if let ha = config.ha { groups[config.node.name] = ha.group }
        return RoutePolicy(
            allowPublicSubnets: config.allowPublicSubnets,
            protectedAddresses: [config.overlay.address] + config.peers.map(\.overlayAddress),
            localSubnets: Set(config.advertise + connectedLAN), localGroup: config.ha?.group, groupOf: groups,
            maxRoutesPerGateway: config.limits.maxRoutesPerPeer, maxPrefixLengthIPv4: config.limits.maxPrefixLengthIPv4,
            maxPrefixLengthIPv6: config.limits.maxPrefixLengthIPv6,
            approvals: config.policy.map { compiled in
                compiled.policy.routeApprovals.map { RoutePolicy.Approval(prefix: $0.prefix, gateways: $0.gateways) }
            })
    }

    /// The peers other than ourselves.
    var otherPeers: [GatewayConfiguration.PeerSettings] { config.peers.filter { $0.name != config.node.name } }

    // MARK: - The step

    /// Takes `inputs` in order, then does what is due at `now`.
    public mutating func step(now: Timestamp, inputs: [Input] = []) -> Output {
        let gap = now.duration(since: self.now)
        self.now = max(self.now, now)
        let now = self.now
        var out = Output()
        // A primary's loop runs every hello interval; a gap of a dead interval means it did not run at all.
        if election?.role == .primary, let ha = config.ha, gap > config.timers.deadInterval {
            stalledUntil = now + config.timers.deadInterval
            let milliseconds = Int(gap.components.seconds * 1000 + gap.components.attoseconds / 1_000_000_000_000_000)
            out.log(
                .warning,
                "this gateway did not run for \(milliseconds) ms (frozen or starved): the virtual IP waits a dead interval for the group's hellos"
            )
            out.audit("primary_stalled", ["group": .string(ha.group), "stalled_ms": .int(milliseconds)])
        }
        if let until = stalledUntil, now >= until {
            stalledUntil = nil
            if election?.role == .primary {
                out.announceVirtualIP = true
                vipAnnouncements = GatewayController.announcementSchedule(after: now)
            }
        }
        var roleChanges: [PrimaryElection.RoleChange] = []
        for input in inputs { handle(input, now: now, roleChanges: &roleChanges, out: &out) }
        if links.updatePending { updateLinks(now: now, out: &out) }
        if let retry = kernelRetryAt, now >= retry { kernelRetryAt = nil }
        if let change = election?.tick(now: now) { roleChanges.append(change) }
        for change in roleChanges { act(on: change, now: now, out: &out) }
        for change in routeTable.expire(now: now) { noteRouteChange(change, out: &out) }
        recomputeRoutes(now: now, out: &out)
        for (peer, sequence) in probes.round(now: now, peers: probedPeers) {
            guard let address = config.peer(named: peer)?.overlayAddress else { continue }
            out.datagrams.append(
                Datagram(
                    channel: .overlayProbe,
                    bytes: ProbeMessage.encode(
                        sequence: sequence, replyTo: Endpoint(address: config.overlay.address, port: probeReplyPort)),
                    peer: Endpoint(address: address, port: GatewayController.probePort)))
        }
        sendPathProbes(now: now, out: &out)
        notePrimary(now: now)
        let primary = election?.currentPrimary(now: now)?.gateway
        groupPrimaryElsewhere = primary == config.node.name ? nil : primary
        if now >= nextHousekeepingAt, sessions != nil {
            nextHousekeepingAt = now + GatewayController.housekeepingInterval
            housekeeping(now: now, out: &out)
            checkHealth(now: now, out: &out)
        }
        if election != nil, now >= nextHelloAt || !roleChanges.isEmpty { sendHello(now: now, out: &out) }
        if now >= nextAdvertAt || pendingTriggeredAdvert || !roleChanges.isEmpty { sendAdvert(now: now, out: &out) }
        if election?.role == .primary, stalledUntil == nil, let next = vipAnnouncements.first, now >= next {
            vipAnnouncements.removeAll { $0 <= now }
            out.announceVirtualIP = true
        }
        stepKeyRotation(now: now, out: &out)
        return out
    }

    private mutating func handle(
        _ input: Input, now: Timestamp, roleChanges: inout [PrimaryElection.RoleChange], out: inout Output
    ) {
        switch input {
        case .datagram(let datagram):
            if let change = receive(datagram, now: now, out: &out) { roleChanges.append(change) }
        case .lanHealth(let healthy):
            nextLANCheckAt = now + config.timers.helloInterval
            if healthy != lanHealthy, let ha = config.ha {
                out.log(.warning, "LAN interface \(ha.lan.interface) is \(healthy ? "back" : "DOWN")")
            }
            lanHealthy = healthy
            if let change = election?.lanHealth(lanHealthy && wanHealthy, now: now) { roleChanges.append(change) }
        case .wanHealth(let healthy):
            if healthy != wanHealthy, config.ha != nil {
                out.log(
                    .warning,
                    healthy ? "the WAN reaches the mesh again" : "no route to any peer endpoint: the WAN is DOWN")
                out.audit("wan_health", ["healthy": .string(healthy ? "true" : "false")])
            }
            wanHealthy = healthy
            if let change = election?.lanHealth(lanHealthy && wanHealthy, now: now) { roleChanges.append(change) }
        case .peerSessions(let observed):
            sessions = observed
            observeEndpoints(observed.endpoints)
        case .handshakes(let outcome, let count):
            switch outcome {
            case .completed: handshakeTotals["completed", default: 0] += UInt64(count)
            case .timedOut: handshakeTotals["timed_out", default: 0] += UInt64(count)
            case .refused(let reason):
                handshakeTotals["refused", default: 0] += UInt64(count)
                refusedHandshakes[reason, default: 0] += count
            }
        case .kernelSync(let failure):
            if let failure, kernelSyncFailure == nil { out.log(.error, "kernel update failed (retrying): \(failure)") }
            if failure == nil, kernelSyncFailure != nil { out.log(.notice, "kernel update succeeded again") }
            kernelSyncFailure = failure
            kernelRetryAt = failure == nil ? nil : now + GatewayController.kernelRetryInterval
        case .reload(let new, let lan):
            out.results.append(reload(new, connectedLAN: lan, now: now, out: &out))
        case .request(let request):
            out.results.append(perform(request, now: now, roleChanges: &roleChanges, out: &out))
        case .kernelObservation(let observation):
            observe(observation, now: now, out: &out)
        case .pathProbeSource(let source):
            pathProbeSource = source
        case .linkActivity(let ages):
            observeLinks(ages, now: now, out: &out)
        case .pathProbeAnswer(let sequence, let from):
            // An answer counts only from the host it was sent to: anyone on the LAN could forge the rest.
            guard let key = paths.key(forSequence: sequence), let prefix = IPPrefix(key),
                pathProbeTargets(now: now)[prefix]?.target == from
            else { break }
            paths.answer(sequence: sequence, now: now)
        }
    }

    /// The earliest moment a step could do something without a new input.
    public var nextDeadline: Timestamp {
        var candidates: [Timestamp?] = [
            nextAdvertAt, nextHousekeepingAt, probes.nextRoundAt, routeTable.nextExpiry, kernelRetryAt,
            probesPaths ? paths.nextRoundAt : nil, hasProbedPeers ? links.nextCheckAt : nil,
            vipAnnouncements.first, keyRotation?.nextDeadline, stalledUntil,
        ]
        if election != nil {
            candidates += [nextHelloAt, nextLANCheckAt, election?.nextDeadline(after: now)]
        }
        if now < startUpWindowEnds { candidates.append(startUpWindowEnds) }
        // Never in the past: a deadline already due means "now".
        return max(Timestamp.earliest(candidates) ?? now + GatewayController.housekeepingInterval, now)
    }

    /// Whether the driver should check the LAN interface and pass ``Input/lanHealth(_:)``.
    public func lanCheckDue(now: Timestamp) -> Bool { config.ha != nil && now >= nextLANCheckAt }

    /// Whether the driver should read the engine's sessions and pass ``Input/peerSessions(_:)``.
    public func housekeepingDue(now: Timestamp) -> Bool { now >= nextHousekeepingAt }

    /// The probe RTTs measured since the last call, for the histogram.
    public mutating func takeNewRTTs() -> [(peer: String, seconds: Double)] { probes.takeNewRTTs() }

    /// Peers we probe: every other peer whose key is still accepted.
    var probedPeers: [String] {
        config.peers.compactMap { $0.name != config.node.name && !keyExpiryEnforced.contains($0.name) ? $0.name : nil }
    }
    /// Whether ``probedPeers`` has anyone (asked at every step: no array is made).
    var hasProbedPeers: Bool {
        config.peers.contains { $0.name != config.node.name && !keyExpiryEnforced.contains($0.name) }
    }

    // MARK: - Intent

    /// What the engine and the kernel should hold now.
    public var intent: Intent {
        let (peers, routes) = peersAndRoutes
        var virtualIP: Intent.VirtualIP?
        if let ha = config.ha, election?.role == .primary, stalledUntil == nil {
            virtualIP = Intent.VirtualIP(
                prefix: ha.lan.virtualIP, interface: ha.lan.interface, lease: Self.virtualIPLease(config.timers),
                leaseRenewal: config.timers.helloInterval)
        }
        var virtualIPGuard: IPv4Address?
        if let ha = config.ha, case .v4(let address) = ha.lan.virtualIP.address { virtualIPGuard = address }
        return Intent(
            generation: intentGeneration, peers: peers, routes: routes, routeTable: config.kernel.routeTable,
            routeMetric: config.kernel.routeMetric, keepStaleRoutes: now < startUpWindowEnds, virtualIP: virtualIP,
            ruleset: Ruleset(
                mssClamp: .init(interface: config.overlay.interface, mtu: config.overlay.mtuBytes),
                virtualIPGuard: virtualIPGuard, policy: config.policy, firewall: firewallIntent,
                relayed: relayedPrefixes))
    }

    /// The learned prefixes that go through a relay now.
    var relayedPrefixes: [IPPrefix] {
        _ = peersAndRoutes
        return intentCache.value?.relayed ?? []
    }

    /// Every peer the engine should know with its allowed IPs, and the learned routes: rebuilt only when
    /// ``intentGeneration`` changed, since they grow with the route table.
    var peersAndRoutes: (peers: [String: PeerIntent], routes: [IPPrefix: String]) {
        if let cached = intentCache.value, cached.generation == intentGeneration {
            return (cached.peers, cached.routes)
        }
        var peers: [String: PeerIntent] = [:]
        var owned: [IPPrefix: String] = [:]
        for peer in otherPeers where !keyExpiryEnforced.contains(peer.name) {
            peers[peer.name] = PeerIntent(
                name: peer.name, publicKey: peerKeys[peer.name] ?? peer.publicKey, overlayAddress: peer.overlayAddress,
                endpoint: peer.endpoint ?? links.endpointHints[peer.name],
                persistentKeepaliveSeconds: UInt16(clamping: peer.persistentKeepalive?.components.seconds ?? 0),
                presharedKeyFile: peer.presharedKeyFile, allowedIPs: [peer.overlayAddress.hostPrefix])
            owned[peer.overlayAddress.hostPrefix] = peer.name
        }
        // Our group's subnets are the primary's allowed IPs here: when it relays through us, what its LAN
        // sends reaches us from its tunnel. The kernel routes those subnets to our LAN, never into the tunnel.
        if let primary = groupPrimaryElsewhere, peers[primary] != nil {
            for prefix in config.advertise where owned[prefix] == nil { peers[primary]?.allowedIPs.insert(prefix) }
        }
        var routes: [IPPrefix: String] = [:]
        var relayed: [IPPrefix] = []
        for (prefix, gateway) in nextHops where peers[gateway] != nil {
            // An overlay address is its owner's alone, whatever a peer advertises.
            guard owned[prefix] == nil else { continue }
            // While the direct link to the gateway is down, its subnets are the relay's allowed IPs: the
            // relay passes them on through its own tunnel to the gateway.
            let carrier = links.relays[gateway].flatMap { peers[$0] == nil ? nil : $0 } ?? gateway
            if carrier != gateway { relayed.append(prefix) }
            peers[carrier]?.allowedIPs.insert(prefix)
            routes[prefix] = gateway
        }
        intentCache.value = (intentGeneration, peers, routes, relayed.sorted())
        return (peers, routes)
    }

    /// The input baseline for the configuration, if `firewall.enabled`.
    var firewallIntent: Ruleset.Firewall? {
        guard let firewall = config.firewall else { return nil }
        var managementPorts = [firewall.sshPort]
        if let metrics = config.metrics, metrics.listen.port != firewall.sshPort {
            managementPorts.append(metrics.listen.port)
        }
        return Ruleset.Firewall(
            overlayInterface: config.overlay.interface, lanInterface: config.ha?.lan.interface,
            wireGuardPort: config.overlay.listenPort, overlayPorts: [Advertisement.port, Self.probePort],
            lanHelloPort: Self.lanHelloPort, managementSources: firewall.managementSources,
            managementPorts: managementPorts)
    }

    // MARK: - Election outcomes

    private mutating func act(on change: PrimaryElection.RoleChange, now: Timestamp, out: inout Output) {
        guard let ha = config.ha else { return }
        out.log(.notice, "HA group \(ha.group): \(change)")
        out.audit(
            "primary_changed",
            [
                "group": .string(ha.group), "role": .string(change.to.description),
                "term": .int(Int(clamping: change.term)),
                "primary": .string(
                    change.to == .primary
                        ? config.node.name : (election?.currentPrimary(now: now)?.gateway ?? "")),
                "reason": .string(change.reason.description),
            ])
        if change.to == .primary {
            // Term 1 is the first election at start-up, not a failover. The duration is how long the group
            // had no usable primary: the silence that was detected, zero for a planned hand-over.
            if change.term > 1 {
                var duration = Duration.zero
                if case .primarySilent(_, let silence) = change.reason { duration = silence }
                out.failovers.append((ha.group, duration))
            }
            out.announceVirtualIP = true
            vipAnnouncements = GatewayController.announcementSchedule(after: now)
        } else {
            vipAnnouncements = []
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

    // MARK: - Routes

    /// Recomputes every subnet's next hop, logging and auditing what moved.
    mutating func recomputeRoutes(now: Timestamp, out: inout Output) {
        // Every step asks; only a change of the table's routes, the role claims or our own inputs answers.
        let reports = election?.reports(now: now) ?? []
        let claims = PrimaryView(reports: routeTable.roleReports(now: now) + reports).reports.map {
            RouteInputs.Claim(gateway: $0.gateway, group: $0.group, role: $0.role, term: $0.term, priority: $0.priority)
        }
        let inputs = RouteInputs(
            tableVersion: routeTable.routesVersion, ownGeneration: routeInputsGeneration, claims: claims)
        guard inputs != lastRouteInputs else { return }
        lastRouteInputs = inputs
        routeComputations &+= 1
        let desired = DesiredRoutes(
            table: routeTable, now: now, reports: reports, previous: nextHops, previousUnits: routeUnits)
        routeUnits = desired.units
        // Our own subnets never go through the overlay, even while a drill withdraws one of them; nor
        // does anything through a peer whose key expired.
        let own = Set(config.advertise).union(advertisedNow)
        let hops = desired.nextHops.filter {
            !own.contains($0.key) && $0.value != config.node.name && !keyExpiryEnforced.contains($0.value)
        }
        withoutPrimary = desired.withoutPrimary
        routeConflicts = desired.conflicts
        if desired.refusedInsideGroups != refusedInsideGroups {
            for prefix in desired.refusedInsideGroups where !refusedInsideGroups.contains(prefix) {
                let by = routeTable.advertisers(of: prefix, now: now).map(\.gateway).joined(separator: ",")
                out.log(.warning, "refused \(prefix) from \(by): it lies inside a subnet another HA group advertises")
                out.audit(
                    "route_rejected",
                    [
                        "subnet": .string(prefix.description), "gateway": .string(by),
                        "reason": .string("inside another HA group's subnet"),
                    ])
            }
            refusedInsideGroups = desired.refusedInsideGroups
        }
        guard hops != nextHops else { return }
        for (prefix, gateway) in hops.sorted(by: { $0.key < $1.key }) where nextHops[prefix] != gateway {
            out.log(.info, "subnet \(prefix) now via \(gateway)")
            if let previous = nextHops[prefix] {
                out.audit(
                    "primary_changed",
                    [
                        "subnet": .string(prefix.description), "from": .string(previous), "to": .string(gateway),
                        "reason": .string("\(gateway) now claims primary for the subnet's group"),
                    ])
            }
        }
        for prefix in nextHops.keys.sorted() where hops[prefix] == nil { out.log(.info, "subnet \(prefix) withdrawn") }
        // A gateway that just became the next hop of a subnet (a failover) and that we hear directly takes
        // its traffic directly at once: a relay left over from an earlier fault was chosen for other
        // traffic, and may be the member whose LAN just failed.
        let newHops = Set(hops.values).subtracting(nextHops.values)
        var leftRelay = false
        for gateway in newHops.sorted() where directLinkUp(gateway, now: now) {
            guard let relay = links.relays.removeValue(forKey: gateway) else { continue }
            notePathChange(
                gateway, from: relay, to: nil, reason: "it became a next hop and its direct link is up", out: &out)
            leftRelay = true
        }
        // The other end mirrors our choice (or we, its): it must hear of this one.
        if leftRelay { sendLinks(out: &out) }
        nextHops = hops
        lastRouteChangeAt = now
    }

    mutating func noteRouteChange(_ change: RouteChange, out: inout Output) {
        out.log(.info, "route \(change)")
        switch change {
        case .added(let prefix, let gateway, let group):
            out.audit(
                "route_advertised",
                ["subnet": .string(prefix.description), "gateway": .string(gateway), "group": .string(group ?? "")])
        case .removed(let prefix, let gateway, let reason):
            out.audit(
                "route_withdrawn",
                [
                    "subnet": .string(prefix.description), "gateway": .string(gateway),
                    "reason": .string(reason.rawValue),
                ])
        case .rejected(let prefix, let gateway, let reason):
            let approval = RoutePolicy.isApprovalRefusal(reason)
            routeRefusals[approval ? "not_approved" : "other", default: 0] += 1
            if approval { unapprovedRoutes[prefix] = gateway }
            out.log(.warning, "route \(change)")
            out.audit(
                "route_rejected",
                ["subnet": .string(prefix.description), "gateway": .string(gateway), "reason": .string(reason)])
        case .moreRejected(let gateway, let count):
            routeRefusals["other", default: 0] += UInt64(count)
            out.log(.warning, "route \(change)")
            out.audit(
                "route_rejected",
                ["gateway": .string(gateway), "count": .int(count), "reason": .string("more refused prefixes")])
        case .limitExceeded(let gateway, let advertised, let limit):
            out.log(.warning, "route \(change)")
            out.audit(
                "route_rejected",
                [
                    "gateway": .string(gateway), "advertised": .int(advertised), "limit": .int(limit),
                    "reason": .string("over limits.max_routes_per_peer"),
                ])
        default:
            break
        }
    }

    // MARK: - Sending

    mutating func sendHello(now: Timestamp, out: inout Output) {
        guard let election, let ha = config.ha else { return }
        nextHelloAt = now + config.timers.helloInterval
        let bytes = Advertisement.hello(election.makeHello(sequence: messageCounter.next(), now: now)).encode()
        // Only members act on a group's hellos; nobody else needs them. Each goes over the overlay and
        // over the LAN the members share, so that neither path alone failing splits the group.
        for peer in otherPeers where config.peerGroups[peer.name] == ha.group {
            out.datagrams.append(
                Datagram(
                    channel: .control, bytes: bytes,
                    peer: Endpoint(address: peer.overlayAddress, port: GatewayController.controlPort)))
            out.datagrams.append(
                Datagram(
                    channel: .lanHello, bytes: bytes,
                    peer: Endpoint(address: peer.overlayAddress, port: GatewayController.lanHelloPort)))
        }
    }

    mutating func sendAdvert(now: Timestamp, out: inout Output) {
        nextAdvertAt = now + config.timers.advertiseInterval
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
            .routes(.init(sender: config.node.name, sequence: messageCounter.next(), groups: groups, routes: routes)),
            out: &out)
        // Even when empty: a reload that removed the last target must reach the peers.
        let targets = config.probeTargets.filter { advertisedNow.contains($0.key) }
        broadcast(
            .probeTargets(.init(sender: config.node.name, sequence: messageCounter.next(), targets: targets)),
            out: &out)
        broadcast(
            .policy(
                .init(
                    sender: config.node.name, sequence: messageCounter.next(),
                    digest: config.policy?.digestBytes ?? [])),
            out: &out)
        sendLinks(out: &out)
    }

    /// Peers whose announced policy differs from ours, with theirs (hex digest or `none`).
    public var policyMismatches: [(peer: String, digest: String)] {
        let ours = config.policy?.digest ?? "none"
        return peerPolicyDigests.filter { $0.value != ours }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Sends `message` to every peer's overlay address (inside the tunnel).
    mutating func broadcast(_ message: Advertisement, out: inout Output) {
        let bytes = message.encode()
        for peer in otherPeers {
            out.datagrams.append(
                Datagram(
                    channel: .control, bytes: bytes,
                    peer: Endpoint(address: peer.overlayAddress, port: GatewayController.controlPort)))
        }
    }
}

extension IPAddress {
    /// The /32 or /128 of this address.
    var hostPrefix: IPPrefix { IPPrefix(address: self, length: isV4 ? 32 : 128)! }
}

/// The inputs of one route computation, compared step to step.
struct RouteInputs: Hashable, Sendable {
    struct Claim: Hashable, Sendable {
        var gateway: String
        var group: String
        var role: PrimaryElection.Role
        var term: UInt64
        var priority: UInt8
    }
    var tableVersion: UInt64
    var ownGeneration: UInt64
    /// The newest role report of each (gateway, group), without the sequence numbers that grow with
    /// every message.
    var claims: [Claim]
}

/// The intent's peers and routes for one generation.
final class IntentCache: @unchecked Sendable {
    var value: (generation: UInt64, peers: [String: PeerIntent], routes: [IPPrefix: String], relayed: [IPPrefix])?
}
