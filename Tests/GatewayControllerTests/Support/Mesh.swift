import CryptoPrimitives
import GatewayConfig
import GatewayController
import NetworkTypes
import Routing

/// Gateways of a mesh wired to each other in memory, on a manual clock, driven the way meshgated drives
/// its controller: each gateway sleeps until its ``GatewayController/nextDeadline`` or until a datagram
/// reaches it (1 ms after it was sent), then steps with what arrived. Datagrams travel between overlay
/// addresses as the tunnel would carry them. A gateway can be killed (it stops stepping and sending) or
/// cut off from chosen peers.
struct Mesh {
    static let latency: Duration = .milliseconds(1)
    /// 2026-01-01T00:00:00Z, the wall clock at the start.
    static let wallStart: Int64 = 1_767_225_600

    struct Node {
        var controller: GatewayController
        var alive = true
        /// Frozen (SIGSTOP): does not step; what is sent to it waits.
        var frozen = false
        var outputs: [Output] = []
        var lanHealthy = true
        var wanHealthy = true
    }

    private(set) var now = Timestamp(nanoseconds: 1_000_000_000_000)
    var nodes: [String: Node] = [:]
    private var inFlight: [(at: Timestamp, to: String, input: Input, from: String?)] = []
    /// Datagrams from → to are dropped while this says so.
    var drops: (String, String) -> Bool = { _, _ in false }
    /// Like `drops`, for datagrams only (adverts, probes): the liveness keepalives and polls still arrive, so a rule
    /// about lossy links can be tested apart from the link going down.
    var datagramDrops: (String, String) -> Bool = { _, _ in false }
    /// One-way delay of a datagram from the first gateway to the second (WAN paths of different lengths).
    var delay: (String, String) -> Duration = { _, _ in Mesh.latency }
    /// The same for LAN hellos, which do not cross the WAN (`drops` does not apply to them).
    var lanDrops: (String, String) -> Bool = { _, _ in false }
    /// What each gateway's driver reads back from the kernel at housekeeping (none: nothing is passed).
    var kernel: [String: KernelObservation] = [:]
    /// Whether a path probe from the gateway to the target is answered (the far side forwards it).
    var pathAnswered: (String, IPAddress) -> Bool = { _, _ in true }
    /// Each gateway's tunnel to each peer as its engine's liveness sees it
    /// (``GatewayController/DirectLinkActivity``): what came through, what waits for an answer.
    private struct Tunnel {
        var heardAt: Timestamp?
        var unansweredSince: Timestamp?
        var owesAnswer = false
    }
    private var tunnels: [String: [String: Tunnel]] = [:]
    private var addressOf: [String: IPAddress] = [:]
    private var nameAt: [IPAddress: String] = [:]

    var wallSeconds: Int64 { Mesh.wallStart + Int64(now.nanoseconds / 1_000_000_000) - 1000 }

    init(_ configs: [GatewayConfiguration]) {
        for config in configs { add(config) }
    }

    mutating func add(_ config: GatewayConfiguration) {
        let name = config.node.name
        addressOf[name] = config.overlay.address
        nameAt[config.overlay.address] = name
        let key = config.ownPeerEntry?.publicKey ?? Fixtures.key(200)
        var controller = GatewayController(
            config: config, publicKey: key, connectedLAN: config.advertise, lanHealthy: true, probeReplyPort: 40000,
            now: now, wallClockNanoseconds: UInt64(wallSeconds) * 1_000_000_000)
        controller.restartElectionClock(now: now)
        nodes[name] = Node(controller: controller)
    }

    subscript(name: String) -> GatewayController { nodes[name]!.controller }

    /// Kills a gateway: it neither steps nor sends, and what was sent to it is lost.
    mutating func kill(_ name: String) {
        nodes[name]?.alive = false
        inFlight.removeAll { $0.to == name }
    }

    /// Moves the clock to `instant` without stepping anyone (the next step happens at it).
    mutating func advanceClock(to instant: Timestamp) { now = max(now, instant) }

    /// Freezes a gateway (SIGSTOP): it stops stepping and sending; messages to it wait for ``thaw(_:)``.
    mutating func freeze(_ name: String) { nodes[name]?.frozen = true }

    /// Thaws a frozen gateway. Its loop steps once at once, before the messages that waited reach it (in
    /// meshgated they come through the data plane, which runs after the loop has woken); they follow.
    @discardableResult
    mutating func thaw(_ name: String) -> Output {
        nodes[name]?.frozen = false
        return step(name, [])
    }

    /// Starts a gateway again from nothing (a restart), with `config`.
    mutating func restart(_ config: GatewayConfiguration) {
        add(config)
    }

    mutating func setLAN(_ name: String, healthy: Bool) { nodes[name]?.lanHealthy = healthy }
    mutating func setWAN(_ name: String, healthy: Bool) { nodes[name]?.wanHealthy = healthy }

    /// Sends `inputs` to one gateway now and returns its output.
    @discardableResult
    mutating func step(_ name: String, _ inputs: [Input]) -> Output {
        var node = nodes[name]!
        let out = node.controller.step(now: now, inputs: inputs + observations(for: node))
        node.outputs.append(out)
        nodes[name] = node
        route(out, from: name)
        return out
    }

    /// Runs every live gateway until `duration` has passed.
    mutating func run(for duration: Duration) {
        let end = now + duration
        while true {
            let running = nodes.filter { $0.value.alive && !$0.value.frozen }
            let deadlines =
                running.values.map(\.controller.nextDeadline) + inFlight.filter { running[$0.to] != nil }.map(\.at)
            guard let next = deadlines.min(), next <= end else { break }
            now = max(now, next)
            let due = inFlight.filter { $0.at <= now && running[$0.to] != nil }
            inFlight.removeAll { $0.at <= now && running[$0.to] != nil }
            for arrival in due {
                if let from = arrival.from { heard(arrival.to, from: from, owesAnswer: true) }
            }
            for name in running.keys.sorted() {
                let inputs = due.filter { $0.to == name }.map(\.input)
                if inputs.isEmpty && nodes[name]!.controller.nextDeadline > now { continue }
                step(name, inputs)
            }
        }
        now = end
    }

    /// `me`'s engine got something authenticated from `peer` through the direct tunnel.
    private mutating func heard(_ me: String, from peer: String, owesAnswer: Bool) {
        var tunnel = tunnels[me]?[peer] ?? Tunnel()
        tunnel.heardAt = now
        tunnel.unansweredSince = nil
        if owesAnswer { tunnel.owesAnswer = true }
        tunnels[me, default: [:]][peer] = tunnel
    }

    /// What meshgated would observe for the gateway: LAN health and sessions (every tunnel up), when due;
    /// the liveness round's keepalives and polls (as the engine sends them) reach every peer that is
    /// alive and not cut off from it, at once.
    private mutating func observations(for node: Node) -> [Input] {
        var inputs: [Input] = []
        if node.controller.linkCheckDue(now: now) {
            let me = node.controller.config.node.name
            var activity: [String: DirectLinkActivity] = [:]
            for (peer, _) in node.controller.linkWatchedPeers {
                var tunnel = tunnels[me]?[peer] ?? Tunnel()
                // A keepalive answers what the peer sent; otherwise a late answer is polled for.
                let poll =
                    !tunnel.owesAnswer
                    && (tunnel.unansweredSince.map { now.duration(since: $0) >= LinkMonitor.pollAfter } ?? false)
                if tunnel.owesAnswer || poll {
                    tunnel.owesAnswer = false
                    if let target = nodes[peer], target.alive, !target.frozen, !drops(me, peer) {
                        heard(peer, from: me, owesAnswer: poll)
                    }
                }
                tunnels[me, default: [:]][peer] = tunnel
                activity[peer] = DirectLinkActivity(
                    sinceHeard: tunnel.heardAt.map { now.duration(since: $0) },
                    unansweredFor: tunnel.unansweredSince.map { now.duration(since: $0) })
            }
            inputs.append(.linkActivity(activity))
        }
        if node.controller.lanCheckDue(now: now) {
            inputs.append(.lanHealth(node.lanHealthy))
            inputs.append(.wanHealth(node.wanHealthy))
        }
        if node.controller.housekeepingDue(now: now) {
            let peers = node.controller.config.peers.map(\.name)
            inputs.append(
                .peerSessions(
                    PeerSessions(
                        wallSeconds: wallSeconds,
                        lastHandshake: Dictionary(uniqueKeysWithValues: peers.map { ($0, wallSeconds - 1) }))))
            if let observation = kernel[node.controller.config.node.name] {
                inputs.append(.kernelObservation(observation))
            }
        }
        return inputs
    }

    private mutating func route(_ out: Output, from sender: String) {
        guard let source = addressOf[sender] else { return }
        for probe in out.pathProbes where pathAnswered(sender, probe.target) {
            inFlight.append(
                (now + Mesh.latency * 2, sender, .pathProbeAnswer(sequence: probe.sequence, from: probe.target), nil))
        }
        for datagram in out.datagrams {
            guard let to = nameAt[datagram.peer.address], nodes[to]?.alive == true else { continue }
            if datagram.channel != .lanHello {
                // Data through the tunnel: the sender's engine waits for something back.
                var tunnel = tunnels[sender]?[to] ?? Tunnel()
                tunnel.owesAnswer = false
                if tunnel.unansweredSince == nil { tunnel.unansweredSince = now }
                tunnels[sender, default: [:]][to] = tunnel
            }
            let dropped =
                datagram.channel == .lanHello ? lanDrops(sender, to) : drops(sender, to) || datagramDrops(sender, to)
            if dropped { continue }
            let delivered: Datagram
            switch datagram.channel {
            case .control:
                delivered = Datagram(
                    channel: .control, bytes: datagram.bytes, peer: .init(address: source, port: 51821))
            case .overlayProbe:
                delivered = Datagram(
                    channel: .probePort, bytes: datagram.bytes, peer: .init(address: source, port: 40000))
            case .probePort where datagram.peer.port == GatewayController.probePort:
                delivered = Datagram(
                    channel: .probePort, bytes: datagram.bytes, peer: .init(address: source, port: 51822))
            case .probePort:
                delivered = Datagram(
                    channel: .overlayProbe, bytes: datagram.bytes, peer: .init(address: source, port: 51822))
            case .lanHello:
                // The driver opened the frame: what arrives names the sender by its overlay address.
                delivered = Datagram(
                    channel: .lanHello, bytes: datagram.bytes,
                    peer: .init(address: source, port: GatewayController.lanHelloPort))
            }
            inFlight.append(
                (now + delay(sender, to), to, .datagram(delivered), datagram.channel == .lanHello ? nil : sender))
        }
    }

    /// Every audit event a gateway has emitted, oldest first.
    func events(_ name: String, named event: String? = nil) -> [AuditEvent] {
        nodes[name]!.outputs.flatMap(\.events).filter { event == nil || $0.name == event }
    }

    func primary(of group: String, seenBy name: String) -> String? {
        self[name].election?.currentPrimary(now: now)?.gateway
    }
}
