import ControlProtocol
import Dataplane
import Foundation
import GatewayConfig
import GatewayController
import Glibc
import LinuxSystem
import Logging
import Netlink
import NetworkTypes
import Routing
import WireGuard

// MARK: - Drills: planned failover and route withdrawal, measured with probes

extension Gateway {
    /// Probes go every 5 ms from this gateway's own LAN address to a remote gateway, whose answer comes
    /// back through the mesh to our group's current primary: the path LAN-to-LAN traffic takes.
    static let probeInterval: Duration = .milliseconds(5)

    func drillFailover(group: String, restore: Bool, maxLossPercent: Double?) -> ControlResponse {
        guard let ha = config.ha, ha.group == group else {
            return .failure(
                "this gateway (\(config.node.name)) is not a member of HA group \(group); run the drill on one")
        }
        guard let from = lock.withLock({ controller.election?.currentPrimary(now: Gateway.now())?.gateway }) else {
            return .failure("group \(group) has no primary right now; nothing to fail over")
        }
        // LAN to LAN: a remote primary probes a host on our LAN (advertise[].probe) from its LAN side, through
        // our group's primary both ways. Without a probe target, from our overlay address to the far gateway.
        let lanToLAN = BurstDrill(gateway: self)
        let probe = lanToLAN == nil ? ProbeRun(gateway: self) : nil
        guard lanToLAN != nil || probe != nil else {
            return .failure("no remote gateway with a live tunnel to probe through; the drill needs one")
        }
        guard lanToLAN?.start() ?? true else {
            return .failure(
                "the remote gateway \(lanToLAN?.remote ?? "?") did not start probing (not primary, busy, or no answer within 1 s); nothing was changed"
            )
        }
        probe?.start()
        Thread.sleep(forTimeInterval: 0.3)
        let started = Gateway.now()
        guard requestStepDown(of: from) else {
            _ = lanToLAN?.stop()
            probe?.stop()
            return .failure("could not ask \(from) to step down")
        }
        // Elected: a different primary here (and, probing locally, answers again afterwards).
        var to: String?
        let deadline = started + .seconds(5)
        var elected: Timestamp?
        while Gateway.now() < deadline {
            to = lock.withLock { controller.election?.currentPrimary(now: Gateway.now())?.gateway }
            if let to, to != from {
                elected = elected ?? Gateway.now()
                if lanToLAN != nil || probe?.lastReply.map({ $0 > started }) ?? false { break }
            }
            Thread.sleep(forTimeInterval: 0.002)
        }
        let converged = Gateway.now()
        var notes: [String] = []
        var sent = 0
        var lost = 0
        var longestGap = 0.0
        var convergence: Double? = Double(converged.duration(since: started).nanosecondsValue) / 1e6
        var problems: [String] = []
        if let lanToLAN {
            Thread.sleep(forTimeInterval: 1.0)
            notes.append(
                "LAN to LAN: \(lanToLAN.remote) probed \(lanToLAN.target) (on this group's LAN) every 5 ms from its LAN side"
            )
            if let result = lanToLAN.stop() {
                sent = result.sent
                lost = max(0, result.sent - result.received)
                longestGap = Double(result.longestGapEndMilliseconds) - Double(result.longestGapStartMilliseconds)
                // The burst started one way after it was asked for; the step-down came `offset` after that.
                let offset =
                    Double((started.duration(since: lanToLAN.requestedAt) - lanToLAN.oneWay).nanosecondsValue) / 1e6
                if result.longestGapEndMilliseconds >= result.durationMilliseconds {
                    convergence = nil
                    problems.append("the LAN-to-LAN probes were not answered again after the failover")
                } else if lost > 0, Double(result.longestGapEndMilliseconds) > offset {
                    convergence = Double(result.longestGapEndMilliseconds) - offset
                } else if let elected {
                    convergence = Double(elected.duration(since: started).nanosecondsValue) / 1e6
                }
            } else {
                convergence = nil
                problems.append("\(lanToLAN.remote) sent no burst result")
            }
        } else if let probe {
            Thread.sleep(forTimeInterval: 0.5)
            let result = probe.stop()
            (sent, lost, longestGap) = (result.sent, result.lost, result.longestGapMilliseconds)
            notes.append(
                "probes from \(probe.source) to \(probe.target.address) every 5 ms (set advertise[].probe for a LAN-to-LAN measurement)"
            )
        }
        var restored = false
        if restore, let to, to != from {
            Thread.sleep(forTimeInterval: 0.2)
            if requestStepDown(of: to) {
                let restoreDeadline = Gateway.now() + .seconds(5)
                while Gateway.now() < restoreDeadline {
                    if lock.withLock({ controller.election?.currentPrimary(now: Gateway.now())?.gateway }) == from {
                        restored = true
                        break
                    }
                    Thread.sleep(forTimeInterval: 0.01)
                }
            }
            if !restored { problems.append("could not restore \(from) as primary within 5 s") }
        }
        guard let to, to != from else {
            return Self.drillResponse(
                DrillReport(
                    kind: "failover", group: group, fromPrimary: from, toPrimary: nil, convergenceMilliseconds: nil,
                    probesSent: sent, probesLost: lost, longestGapMilliseconds: longestGap, restored: false,
                    notes: notes),
                problems: ["no other member took over within 5 s"] + problems)
        }
        if let maxLossPercent, sent > 0 {
            let percent = Double(lost) / Double(sent) * 100
            if percent > maxLossPercent {
                problems.append(
                    "\(lost) of \(sent) probes lost (\(String(format: "%.1f", percent))%), more than --max-loss \(String(format: "%.1f", maxLossPercent))%"
                )
            }
        }
        return Self.drillResponse(
            DrillReport(
                kind: "failover", group: group, fromPrimary: from, toPrimary: to, convergenceMilliseconds: convergence,
                probesSent: sent, probesLost: lost, longestGapMilliseconds: longestGap, restored: restored,
                notes: notes),
            problems: problems)
    }

    /// The drill's verdict: passed when nothing went wrong; a failed drill is a failed request (exit 1)
    /// that still carries its figures.
    static func drillResponse(_ report: DrillReport, problems: [String]) -> ControlResponse {
        var report = report
        report.passed = problems.isEmpty
        report.verdict = problems.isEmpty ? "passed" : problems.joined(separator: "; ")
        return problems.isEmpty
            ? ControlResponse(drill: report)
            : ControlResponse(ok: false, error: "drill failed: \(report.verdict!)", drill: report)
    }

    /// Asks `member` (this gateway or another member of our group) to step down.
    private func requestStepDown(of member: String) -> Bool {
        let request: Request = member == config.node.name ? .stepDown : .askToStepDown(member: member)
        return perform(request) == .done
    }

    func drillWithdraw(prefix text: String, holdSeconds: Int) -> ControlResponse {
        guard let prefix = IPPrefix(text), lock.withLock({ controller.advertisedNow.contains(prefix) }) else {
            return .failure("\(text) is not one of this gateway's advertised subnets")
        }
        guard let probe = ProbeRun(gateway: self, sourceWithin: prefix) else {
            return .failure("no remote gateway with a live tunnel, or no LAN address in \(prefix), to probe with")
        }
        probe.start()
        Thread.sleep(forTimeInterval: 0.3)
        let started = Gateway.now()
        _ = perform(.suspendAdvertisement(prefix))
        // Withdrawn: probes stop being answered (the far end lost its route back).
        let timeout = Duration.seconds(5)
        let deadline = started + timeout
        var withdrawnAt: Timestamp?
        while Gateway.now() < deadline {
            let last = max(probe.lastReply ?? started, started)
            if Gateway.now().duration(since: last) > .milliseconds(50) {
                withdrawnAt = last
                break
            }
            Thread.sleep(forTimeInterval: 0.002)
        }
        if holdSeconds > 0 { Thread.sleep(forTimeInterval: Double(holdSeconds)) }
        _ = perform(.resumeAdvertisement(prefix))
        let readvertised = Gateway.now()
        let restoreDeadline = readvertised + timeout
        while Gateway.now() < restoreDeadline {
            if let last = probe.lastReply, last > readvertised { break }
            Thread.sleep(forTimeInterval: 0.002)
        }
        let restoredAt = Gateway.now()
        Thread.sleep(forTimeInterval: 0.2)
        let result = probe.stop()
        let restored = (probe.lastReply ?? .zero) > readvertised
        var problems: [String] = []
        var notes = ["convergence = withdrawal until the far end stopped answering"]
        if withdrawnAt == nil {
            problems.append("timed out: the far end still answered \(timeout) after the withdrawal")
        }
        if holdSeconds > 0 { notes.append("held withdrawn for \(holdSeconds) s") }
        if restored {
            notes.append(
                "re-advertised; answers resumed after \(Double(restoredAt.duration(since: readvertised).nanosecondsValue) / 1e6) ms"
            )
        } else {
            problems.append("re-advertised, but the far end did not answer again within \(timeout)")
        }
        return Self.drillResponse(
            DrillReport(
                kind: "withdraw", subnet: prefix.description,
                convergenceMilliseconds: withdrawnAt.map { Double($0.duration(since: started).nanosecondsValue) / 1e6 },
                probesSent: result.sent, probesLost: result.lost,
                longestGapMilliseconds: result.longestGapMilliseconds, restored: restored, notes: notes),
            problems: problems)
    }
}

extension Duration {
    var nanosecondsValue: Int64 {
        let (s, a) = components
        return s * 1_000_000_000 + a / 1_000_000_000
    }
}

/// A stream of probes from a LAN address of ours to a remote gateway's probe port, recording answers.
final class ProbeRun: @unchecked Sendable {
    /// Bound to our LAN address: where answers arrive.
    let socket: DatagramSocket
    /// Bound to our overlay address: the far end's cryptokey routing accepts that source from us whatever
    /// the group's roles are, so only the answer's path depends on the primary.
    let sendSocket: DatagramSocket
    let source: IPAddress
    let target: Endpoint
    private let lock = PThreadMutex()
    private var sent = 0
    private var replies: [Timestamp] = []
    private var received = Set<UInt32>()
    /// When the latest answer arrived.
    var lastReply: Timestamp? { lock.withLock { _lastReply } }
    private var _lastReply: Timestamp?
    private var running = true
    private var sender: OSThread?
    private var receiver: OSThread?

    /// Picks a remote gateway with a recent handshake and an answer address on our LAN inside `sourceWithin`
    /// (or any advertised subnet); nil if there is none.
    init?(gateway: Gateway, sourceWithin: IPPrefix? = nil) {
        let config = gateway.config
        let snapshot = gateway.device.snapshot()
        let now = Int64(Date().timeIntervalSince1970)
        let (groupMembers, keys) = gateway.lock.withLock {
            (
                Set(gateway.controller.election?.members(now: Gateway.now()).map(\.name) ?? []),
                gateway.controller.peerKeys
            )
        }
        guard
            let remote = config.peers.first(where: { peer in
                peer.name != config.node.name && !groupMembers.contains(peer.name)
                    && snapshot.peers.contains {
                        $0.publicKey == keys[peer.name] && now - $0.lastHandshakeSeconds < 180
                    }
            })
        else { return nil }
        let subnets = sourceWithin.map { [$0] } ?? config.advertise
        guard let netlink = try? RouteNetlink(),
            let addresses = try? netlink.addresses(family: .all, interfaceIndex: nil),
            let local = addresses.first(where: { a in
                subnets.contains { $0.contains(a.address) } && a.address != config.ha?.lan.virtualIP.address
            })
        else { return nil }
        guard let socket = try? DatagramSocket(port: 0, device: nil, bindAddress: local.address),
            let sendSocket = try? DatagramSocket(port: 0, device: nil, bindAddress: config.overlay.address)
        else { return nil }
        self.socket = socket
        self.sendSocket = sendSocket
        self.source = local.address
        self.target = Endpoint(address: remote.overlayAddress, port: GatewayController.probePort)
    }

    func start() {
        sender = OSThread(name: "mg-probe-tx") { [self] in
            var sequence: UInt32 = 0
            while lock.withLock({ running }) {
                sendSocket.send(
                    ProbeMessage.encode(sequence: sequence, replyTo: Endpoint(address: source, port: socket.localPort)),
                    to: target)
                lock.withLock { sent += 1 }
                sequence += 1
                usleep(UInt32(Gateway.probeInterval.nanosecondsValue / 1000))
            }
        }
        receiver = OSThread(name: "mg-probe-rx") { [self] in
            while lock.withLock({ running }) {
                guard socket.waitReadable(milliseconds: 20) else { continue }
                while let (bytes, _) = socket.receive() {
                    guard let seq = ProbeMessage.sequence(of: bytes) else { continue }
                    let t = Gateway.now()
                    lock.withLock {
                        if received.insert(seq).inserted { replies.append(t) }
                        _lastReply = t
                    }
                }
            }
        }
    }

    /// Stops probing; returns sent, lost and the longest gap between answers.
    @discardableResult
    func stop() -> (sent: Int, lost: Int, longestGapMilliseconds: Double) {
        lock.withLock { running = false }
        sender?.join()
        receiver?.join()
        socket.close()
        sendSocket.close()
        return lock.withLock {
            var gap: Int64 = 0
            for (a, b) in zip(replies, replies.dropFirst()) { gap = max(gap, b.duration(since: a).nanosecondsValue) }
            return (sent, max(0, sent - received.count), Double(gap) / 1e6)
        }
    }
}

/// The asking side of a LAN-to-LAN probe burst (``BurstMessage``): picks a remote primary and a probe target
/// on our LAN, asks for the burst, and collects its result.
final class BurstDrill: @unchecked Sendable {
    let remote: String
    let target: IPAddress
    private let remoteAddress: IPAddress
    private let socket: DatagramSocket
    private let id = UInt32.random(in: 1...UInt32.max)
    private(set) var requestedAt = Timestamp.zero

    /// Probes every 5 ms for at most 10 s.
    static let count = 2000

    /// nil when no advertised subnet of ours has a probe target, or no remote primary (or not `remote`)
    /// has a live tunnel.
    init?(gateway: Gateway, remote wanted: String? = nil) {
        let chosen: (target: IPAddress, remote: String, address: IPAddress, overlay: IPAddress)? = gateway.lock.withLock
        {
            let controller = gateway.controller
            let config = controller.config
            // IPv4: the far side probes from its IPv4 LAN address.
            guard let target = config.advertise.compactMap({ config.probeTargets[$0] }).first(where: \.isV4) else {
                return nil
            }
            let members = config.ha.map { config.members(of: $0.group) } ?? []
            // A next hop of ours is the primary of its group (or a lone gateway): its LAN source passes here.
            let remotes = Set(controller.nextHops.values).subtracting(members).filter {
                controller.peersUp.contains($0)
            }
            guard let remote = wanted.map({ remotes.contains($0) ? $0 : nil }) ?? remotes.sorted().first,
                let address = config.peer(named: remote)?.overlayAddress
            else {
                return nil
            }
            return (target, remote, address, config.overlay.address)
        }
        guard let chosen, let socket = try? DatagramSocket(port: 0, device: nil, bindAddress: chosen.overlay) else {
            return nil
        }
        self.target = chosen.target
        self.remote = chosen.remote
        self.remoteAddress = chosen.address
        self.socket = socket
    }

    private var endpoint: Endpoint { Endpoint(address: remoteAddress, port: GatewayController.probePort) }

    /// Half the round trip of the request and its acknowledgement: the remote's burst clock started that
    /// much after ``requestedAt``.
    private(set) var oneWay = Duration.zero

    /// Asks for the burst and waits (up to 1 s) until the remote says it started; false when it refused,
    /// was busy, or did not answer.
    func start() -> Bool {
        requestedAt = Gateway.now()
        socket.send(
            BurstMessage.request(id: id, target: target, count: Self.count, interval: BurstMessage.minimumInterval),
            to: endpoint)
        let deadline = requestedAt + .seconds(1)
        while Gateway.now() < deadline {
            guard socket.waitReadable(milliseconds: 50), let result = receiveResult() else { continue }
            guard result.status == .accepted else { break }
            oneWay = Gateway.now().duration(since: requestedAt) / 2
            return true
        }
        socket.close()
        return false
    }

    /// Ends the burst and waits (up to 2 s, asking again every 250 ms) for its result.
    func stop() -> BurstMessage.Result? {
        defer { socket.close() }
        let deadline = Gateway.now() + .seconds(2)
        while Gateway.now() < deadline {
            socket.send(BurstMessage.stop(id: id), to: endpoint)
            guard socket.waitReadable(milliseconds: 250) else { continue }
            if let result = receiveResult(), result.status != .accepted { return result.status == .done ? result : nil }
        }
        return nil
    }

    private func receiveResult() -> BurstMessage.Result? {
        while let (bytes, source) = socket.receive() {
            guard source.address == remoteAddress, let result = BurstMessage.parseResult(bytes), result.id == id
            else { continue }
            return result
        }
        return nil
    }
}
