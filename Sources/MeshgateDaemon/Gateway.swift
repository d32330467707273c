import ControlProtocol
public import CryptoPrimitives
import Dataplane
import Foundation
public import GatewayConfig
import GatewayController
import Glibc
import LinuxSystem
public import Logging
import Netlink
import NetworkTypes
import Routing
import Synchronization
import Telemetry
import WireGuard

/// One running gateway: the driver around a ``GatewayController``. It owns the WireGuard device, the
/// sockets and the kernel state; the controller owns every decision.
///
/// The loop sleeps until the controller's next deadline or until a socket is readable, gathers what
/// happened (datagrams, LAN health, the engine's sessions, handshake outcomes, the last sync's result)
/// into inputs, steps the controller, then carries out its output (datagrams, audit events, VIP
/// announcements) and syncs the engine and the kernel towards its intent by difference
/// (``syncIntent(_:)``). Control-socket threads drive the same controller under the same lock.
public final class Gateway: @unchecked Sendable {
    public static let version = ControlProtocol.softwareVersion
    /// The loop wakes at least this often even with nothing due (a bound, not a poll).
    static let longestSleep: Duration = .seconds(1)

    /// The configuration in force (the controller's).
    var config: GatewayConfiguration { lock.withLock { controller.config } }
    /// Where the configuration came from, for reloads.
    public var configPath: String?
    let logger: Logger
    let device: Device
    let uapi: UAPIServer
    let kernel: KernelState
    let controlSocket: DatagramSocket
    let probeSocket: DatagramSocket
    let overlayProbeSocket: DatagramSocket
    /// LAN hello frames (``LANHello``) on the HA LAN interface; nil without HA or with an IPv6 VIP.
    let lanHelloSocket: DatagramSocket?
    /// Pair keys for LAN hellos by member overlay address, with the public keys they were made from.
    var lanPairKeys: [IPAddress: (ours: Key32, theirs: Key32, key: Key32)] = [:]
    /// Guards `controller` and the applied state below.
    let lock = PThreadMutex()
    /// A drill, key rotation or reload is running (they are exclusive; reads are not).
    let operationInProgress = Atomic<Bool>(false)
    private var thread: OSThread?
    /// The NFLOG reader of denied flows (``startDeniedFlowAudit()``) and its stop flag.
    var deniedFlowThread: OSThread?
    let deniedFlowStop = Atomic<Bool>(false)
    private let stopEvent: WakeEvent
    /// Wakes the loop when a control thread changed the controller (its deadline may be sooner now).
    let wakeEvent: WakeEvent
    let startedAt: Timestamp

    // MARK: State (guarded by `lock`)
    var controller: GatewayController
    var applied = AppliedState()
    /// The result of the last kernel sync, passed to the controller at the next step.
    var kernelFeedback: String??
    let audit: AuditLog
    let metrics = MetricsRegistry(version: Gateway.version)
    /// Subnets with a `meshgate_route_primary` series (learned, and our own), so withdrawn ones can be
    /// removed; the route computation they were exported from.
    var exportedLearned: Set<IPPrefix> = []
    var exportedOwn: Set<IPPrefix> = []
    var exportedRouteComputations: UInt64?
    /// `subnet\0target` of paths with `meshgate_path_*` series.
    var exportedPaths: Set<String> = []
    /// ICMP echo from the LAN side for the path probes (``observeKernel()``); nil without a LAN address.
    var pathProbeSocket: ICMPEchoSocket?
    /// The drill probe burst run for a peer, if any (Gateway+Bursts.swift).
    let burst = BurstState()
    /// Distinguishes concurrent `meshgate ping`s (each its own ICMP identifier).
    let pingCounter = Atomic<UInt16>(0)
    var metricsServer: MetricsServer?
    /// Runs `ha.on_role_change` off the loop (Gateway+RoleChange.swift). Used under `lock`.
    lazy var roleChangeHook = Gateway.makeRoleChangeHook(logger: logger, metrics: metrics, audit: audit)
    /// systemd's `WatchdogSec=`: pinged from the loop, so a hung loop gets the daemon restarted.
    let watchdog = SystemdWatchdog()

    /// Handshake outcomes from the packet threads, taken by the loop (own lock: the packet threads must
    /// never wait for the controller).
    private let handshakeLock = PThreadMutex()
    /// Handshake outcomes since the last loop step, counted: a flood adds to a count, not to a list.
    private var pendingHandshakes: [HandshakeOutcome: Int] = [:]

    public init(config: GatewayConfiguration, privateKey: Key32, logger: Logger) throws {
        self.logger = logger
        self.stopEvent = try WakeEvent()
        self.wakeEvent = try WakeEvent()
        self.startedAt = Gateway.now()
        self.audit = AuditLog(node: config.node.name)

        // The WireGuard interface first: everything else hangs off it. Peers come with the first sync.
        device = try Device(interfaceName: config.overlay.interface, random: SystemRandom(), logger: logger)
        uapi = try UAPIServer(device: device, report: { [logger] in logger.error("UAPI socket: \($0)") })
        var change = UAPIConfigurationChange()
        change.privateKey = privateKey
        change.listenPort = config.overlay.listenPort
        change.replacePeers = true
        if let error = device.apply(change) { throw GatewayError.startup("WireGuard configuration: \(error)") }

        kernel = try KernelState(
            overlayInterface: device.interfaceName, routeTable: config.kernel.routeTable,
            routeMetric: config.kernel.routeMetric, logger: logger)
        try device.setMTU(config.overlay.mtuBytes)
        try kernel.configureOverlay(address: config.overlay.address, mtu: config.overlay.mtuBytes)
        controlSocket = try DatagramSocket(port: GatewayController.controlPort, device: device.interfaceName)
        // Bound to the overlay: only datagrams WireGuard authenticated reach the probe responder and step-down.
        probeSocket = try DatagramSocket(port: GatewayController.probePort, device: device.interfaceName)
        overlayProbeSocket = try DatagramSocket(port: 0, device: nil, bindAddress: config.overlay.address)
        // HA hellos also cross the LAN (IPv4 VIPs): frames are MACed, since nothing there authenticates.
        if let ha = config.ha, ha.lan.virtualIP.address.isV4 {
            let socket = try DatagramSocket(port: GatewayController.lanHelloPort, device: ha.lan.interface)
            try socket.enableBroadcast()
            lanHelloSocket = socket
        } else {
            lanHelloSocket = nil
        }
        let wall = SystemClock.wallTime()
        let kernel = self.kernel
        controller = GatewayController(
            config: config, publicKey: X25519.publicKey(for: privateKey),
            connectedLAN: config.ha.map { kernel.connectedPrefixes(on: $0.lan.interface) } ?? [],
            lanHealthy: config.ha.map { kernel.isLANHealthy($0.lan.interface) } ?? true,
            probeReplyPort: overlayProbeSocket.localPort, now: startedAt,
            wallClockNanoseconds: UInt64(wall.seconds) * 1_000_000_000 + UInt64(wall.nanoseconds))
    }

    static func now() -> Timestamp { Timestamp(nanoseconds: SystemClock.monotonicNanoseconds()) }

    static func readKey(path: String) -> Key32? {
        guard let file = try? SmallFile.read(path) else { return nil }
        return Key32(base64: file.text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    // MARK: - Lifecycle

    /// Releases a VIP a killed predecessor may have left, switches forwarding on, starts the packet
    /// threads and the loop. The first sync installs peers, the clamp and routes from the intent.
    public func start() throws {
        do {
            try startUnchecked()
        } catch {
            // Leave nothing behind when start-up fails half-way.
            removeKernelState()
            throw error
        }
    }

    private func startUnchecked() throws {
        let config = self.config
        // A VIP left by a killed predecessor goes until the election gives it back to us.
        if let ha = config.ha { kernel.releaseVirtualIP(ha.lan.virtualIP, on: ha.lan.interface) }
        // A relay drill's block left by a killed predecessor.
        kernel.removeDrillBlock()
        let before = kernel.ensureForwarding()
        for (family, on) in before where !on { logger.notice("\(family) forwarding was off; switched it on") }
        try lock.withLock {
            syncIntent(controller.intent)
            if case .some(.some(let failure)) = kernelFeedback { throw GatewayError.startup(failure) }
        }
        device.eventHandler = { [weak self] event in
            guard let self else { return }
            let outcome: HandshakeOutcome
            switch event {
            case .refused(let reason): outcome = .refused(reason: reason.rawValue)
            case .completed: outcome = .completed
            case .gaveUp: outcome = .timedOut
            case .initiationSent, .initiationConsumed: return
            }
            self.handshakeLock.withLock { self.pendingHandshakes[outcome, default: 0] += 1 }
        }
        try startMetricsServer()
        device.start()
        uapi.start()
        // The start-up wait (one dead interval of listening before any claim) counts from now, when the
        // loop starts hearing hellos, not from when the gateway was constructed: slow set-up steps must
        // not eat into it, or a restarted standby would claim before hearing the primary.
        lock.withLock { controller.restartElectionClock(now: Gateway.now()) }
        thread = OSThread(name: "mg-loop") { [self] in loop() }
        startDeniedFlowAudit()
        if let policy = config.policy {
            logger.notice("policy: \(policy) enforced on traffic between the overlay and the LAN")
        } else {
            logger.warning(
                "policy: none — all traffic between sites allowed (set policy_file to enforce least privilege)")
        }
        logger.info(
            "gateway \(config.node.name) up: \(device.interfaceName) \(config.overlay.address) mtu \(config.overlay.mtuBytes), advertising \(config.advertise.map(\.description).joined(separator: ", "))"
        )
    }

    /// Hands the primary role over (if held), withdraws our routes from the mesh, then removes everything we
    /// added to the kernel.
    public func stop() {
        // First, while the loop still runs: joining the reader takes up to its 500 ms receive timeout, and
        // a gap that long between the loop's last step and the final one below looks like a silent partner.
        stopDeniedFlowAudit()
        handOverBeforeStopping()
        stopEvent.signal()
        thread?.join()
        _ = lock.withLock { drive([.request(.withdrawFromMesh)], now: Gateway.now(), sync: false) }
        removeKernelState()
        burst.lock.withLock { burst.stopRequested = true }
        burst.thread?.join()
        pathProbeSocket?.close()
        metricsServer?.stop()
        uapi.stop()
        device.stop()
        logger.info("gateway \(config.node.name) stopped; routes withdrawn and kernel state removed")
    }

    private func removeKernelState() {
        let config = self.config
        if let ha = config.ha { kernel.releaseVirtualIP(ha.lan.virtualIP, on: ha.lan.interface) }
        kernel.removeAllRoutes()
        kernel.removeMSSClamp()
        kernel.removeVirtualIPGuard()
        kernel.removeDrillBlock()
    }

    /// A planned stop of the primary steps down first and waits (briefly) for a standby to take over, so a
    /// clean restart costs a hand-over (tens of ms) instead of a dead interval.
    private func handOverBeforeStopping() {
        let steppedDown: Bool = lock.withLock {
            guard controller.election?.role == .primary else { return false }
            let out = drive([.request(.stepDown)], now: Gateway.now())
            return out.results.first == .done
        }
        guard steppedDown else { return }
        wakeEvent.signal()
        let deadline = Gateway.now() + .milliseconds(500)
        while Gateway.now() < deadline {
            let handedOver = lock.withLock {
                guard let primary = controller.election?.currentPrimary(now: Gateway.now()) else { return false }
                return primary.gateway != controller.config.node.name
            }
            if handedOver { break }
            usleep(5000)
        }
    }

    // MARK: - The loop

    private func loop() {
        var sockets: [(DatagramSocket, Channel)] = [
            // Probe answers first: their RTT should not include the rest of the step's work.
            (overlayProbeSocket, .overlayProbe), (probeSocket, .probePort), (controlSocket, .control),
        ]
        if let lanHelloSocket { sockets.append((lanHelloSocket, .lanHello)) }
        var descriptors = sockets.map { pollfd(fd: $0.0.descriptor.rawValue, events: Int16(POLLIN), revents: 0) }
        descriptors.append(pollfd(fd: wakeEvent.descriptor.rawValue, events: Int16(POLLIN), revents: 0))
        descriptors.append(pollfd(fd: stopEvent.descriptor.rawValue, events: Int16(POLLIN), revents: 0))
        let fixedDescriptors = descriptors.count
        while true {
            let (deadline, icmp) = lock.withLock { (controller.nextDeadline, pathProbeSocket) }
            // The path probe socket follows the LAN address, so it may change between passes.
            descriptors.removeSubrange(fixedDescriptors...)
            if let icmp { descriptors.append(pollfd(fd: icmp.descriptor.rawValue, events: Int16(POLLIN), revents: 0)) }
            let now = Gateway.now()
            let wait = min(deadline > now ? deadline.duration(since: now) : .zero, Gateway.longestSleep)
            // Rounded up: waking a little early would only find nothing due and sleep again.
            let milliseconds =
                Int32((wait.components.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
                + Int32(wait.components.seconds * 1000)
            for i in descriptors.indices { descriptors[i].revents = 0 }
            let ready = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
            if ready < 0 && errno != EINTR {
                logger.critical("control loop: poll failed (errno \(errno)); the gateway stops deciding")
                fatalError("control loop poll failed")
            }
            if descriptors[fixedDescriptors - 1].revents != 0 { return }
            watchdog.pingIfDue()
            if descriptors[fixedDescriptors - 2].revents != 0 { wakeEvent.drain() }
            var inputs: [Input] = []
            for (socket, channel) in sockets {
                // At most a batch per socket per pass: a flood on one (the LAN port is open to the LAN)
                // must not keep the loop from stepping; the rest waits for the next pass.
                var read = 0
                while read < Gateway.datagramsPerPass, let (bytes, source) = socket.receive() {
                    read += 1
                    if channel == .lanHello {
                        // Our own broadcasts come back too; they and strangers' frames do not open.
                        if let hello = lock.withLock({ openLANHello(bytes) }) { inputs.append(.datagram(hello)) }
                        continue
                    }
                    inputs.append(.datagram(Datagram(channel: channel, bytes: bytes, peer: source)))
                }
            }
            if let icmp, descriptors.count > fixedDescriptors, descriptors[fixedDescriptors].revents != 0 {
                inputs += pathProbeAnswers(icmp)
            }
            handshakeLock.withLock {
                inputs += pendingHandshakes.map { .handshakes($0.key, count: $0.value) }
                pendingHandshakes.removeAll()
            }
            step(inputs: inputs)
        }
    }

    /// One loop step: observations that are due, then the controller, then the sync.
    private func step(inputs: [Input]) {
        var inputs = inputs
        let now = Gateway.now()
        let (lanDue, housekeepingDue, lanInterface, watched) = lock.withLock {
            (
                controller.lanCheckDue(now: now), controller.housekeepingDue(now: now),
                controller.config.ha?.lan.interface,
                controller.linkCheckDue(now: now) ? controller.linkWatchedPeers : nil
            )
        }
        if let watched {
            // Answers and polls through the direct tunnels; what came back tells which links are alive.
            let activity = device.livenessRound(of: watched.map(\.key), pollAfter: LinkMonitor.pollAfter)
            var byName: [String: DirectLinkActivity] = [:]
            for (name, key) in watched {
                if let link = activity[key] {
                    byName[name] = DirectLinkActivity(sinceHeard: link.sinceHeard, unansweredFor: link.unansweredFor)
                }
            }
            inputs.append(.linkActivity(byName))
        }
        if lanDue, let lanInterface {
            // Under the lock: the netlink socket is shared with control threads that sync the kernel.
            lock.withLock {
                inputs.append(.lanHealth(kernel.isLANHealthy(lanInterface)))
                inputs.append(.wanHealth(kernel.isWANHealthy(toward: peerEndpoints)))
            }
        }
        var snapshot: UAPIDeviceSnapshot?
        if housekeepingDue {
            let current = device.snapshot()
            snapshot = current
            inputs.append(.peerSessions(sessions(from: current)))
            inputs += lock.withLock { observeKernel() }
        }
        lock.withLock {
            drive(inputs, now: now)
            if let snapshot {
                refreshMetrics(now: now, snapshot: snapshot)
                refreshHealthMetrics(now: now)
            }
        }
    }

    /// Control datagrams read from one socket per loop pass.
    static let datagramsPerPass = 64

    /// The configured endpoints of peers outside our group (a few suffice to tell whether the WAN reaches
    /// the mesh; a partner's endpoint may well be reached over the shared LAN). Caller holds `lock`.
    private var peerEndpoints: [Endpoint] {
        let config = controller.config
        let group = config.ha?.group
        return Array(
            config.peers.filter { $0.name != config.node.name && (group == nil || config.peerGroups[$0.name] != group) }
                .compactMap(\.endpoint).prefix(4))
    }

    /// The engine's sessions by peer name (under the keys the controller knows them by).
    private func sessions(from snapshot: UAPIDeviceSnapshot) -> PeerSessions {
        let keys = lock.withLock { controller.peerKeys }
        let names = Dictionary(keys.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        var last: [String: Int64] = [:]
        var endpoints: [String: String] = [:]
        for peer in snapshot.peers {
            guard let name = names[peer.publicKey] else { continue }
            last[name] = peer.lastHandshakeSeconds
            if let endpoint = peer.endpoint { endpoints[name] = endpoint.description }
        }
        return PeerSessions(
            wallSeconds: Int64(Date().timeIntervalSince1970), lastHandshake: last, endpoints: endpoints)
    }

    /// Steps the controller with `inputs`, carries out its output and syncs its intent. Caller holds `lock`.
    @discardableResult
    func drive(_ inputs: [Input], now: Timestamp, sync: Bool = true) -> Output {
        var inputs = inputs
        if let feedback = kernelFeedback {
            inputs.append(.kernelSync(failure: feedback))
            kernelFeedback = nil
        }
        let out = controller.step(now: now, inputs: inputs)
        for log in out.logs { logger.log(level: log.level.loggerLevel, "\(log.message)") }
        if !out.peerKeyRotations.isEmpty {
            device.engine.withLock { engine in
                for rotation in out.peerKeyRotations {
                    if engine.replacePeerKey(rotation.old, with: rotation.new) {
                        applied.peers[rotation.peer]?.publicKey = rotation.new
                    } else {
                        logger.warning("\(rotation.peer) announced a new key but it could not be applied")
                    }
                }
            }
        }
        let intent = controller.intent
        if sync { syncIntent(intent) }
        for datagram in out.datagrams {
            switch datagram.channel {
            case .control: controlSocket.send(datagram.bytes, to: datagram.peer)
            case .probePort: probeSocket.send(datagram.bytes, to: datagram.peer)
            case .overlayProbe: overlayProbeSocket.send(datagram.bytes, to: datagram.peer)
            case .lanHello: sendLANHello(datagram)
            }
        }
        sendPathProbes(out.pathProbes)
        if !out.bursts.isEmpty || !out.burstStops.isEmpty { handleBursts(out.bursts, stops: out.burstStops) }
        if out.announceVirtualIP, let vip = intent.virtualIP {
            kernel.announceVirtualIP(vip.prefix, on: vip.interface)
        }
        for failover in out.failovers {
            metrics.recordFailover(group: failover.group, duration: failover.withoutPrimary)
        }
        for event in out.events { audit.record(event.name, event.fields.mapValues(\.auditValue)) }
        runRoleChangeHook(for: out.events)
        return out
    }
}

extension LogLine.Level {
    var loggerLevel: Logger.Level {
        switch self {
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }
}

extension AuditValue {
    var auditValue: any Sendable {
        switch self {
        case .string(let s): s
        case .int(let i): i
        case .double(let d): d
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
