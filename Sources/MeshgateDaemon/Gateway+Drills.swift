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

    func drillFailover(group: String, restore: Bool) -> ControlResponse {
        guard let ha = config.ha, ha.group == group else {
            return .failure(
                "this gateway (\(config.node.name)) is not a member of HA group \(group); run the drill on one")
        }
        guard let from = lock.withLock({ controller.election?.currentPrimary(now: Gateway.now())?.gateway }) else {
            return .failure("group \(group) has no primary right now; nothing to fail over")
        }
        guard let probe = ProbeRun(gateway: self) else {
            return .failure("no remote gateway with a live tunnel to probe through; the drill needs one")
        }
        probe.start()
        Thread.sleep(forTimeInterval: 0.3)
        let started = Gateway.now()
        guard requestStepDown(of: from) else {
            probe.stop()
            return .failure("could not ask \(from) to step down")
        }
        // Converged: a different primary elected here, and probes answered again afterwards.
        var to: String?
        let deadline = started + .seconds(5)
        while Gateway.now() < deadline {
            to = lock.withLock { controller.election?.currentPrimary(now: Gateway.now())?.gateway }
            if let to, to != from, probe.lastReply.map({ $0 > started }) ?? false { break }
            Thread.sleep(forTimeInterval: 0.002)
        }
        let converged = Gateway.now()
        Thread.sleep(forTimeInterval: 0.5)
        let result = probe.stop()
        var notes: [String] = ["probes from \(probe.source) to \(probe.target.address) every 5 ms"]
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
            if !restored { notes.append("could not restore \(from) as primary within 5 s") }
        }
        guard let to, to != from else {
            return ControlResponse(
                ok: false, error: "no other member took over within 5 s",
                drill: DrillReport(
                    kind: "failover", group: group, fromPrimary: from, toPrimary: nil,
                    convergenceMilliseconds: 5000, probesSent: result.sent, probesLost: result.lost,
                    longestGapMilliseconds: result.longestGapMilliseconds, restored: false, notes: notes))
        }
        return ControlResponse(
            drill: DrillReport(
                kind: "failover", group: group, fromPrimary: from, toPrimary: to,
                convergenceMilliseconds: Double(converged.duration(since: started).nanosecondsValue) / 1e6,
                probesSent: result.sent, probesLost: result.lost,
                longestGapMilliseconds: result.longestGapMilliseconds, restored: restored, notes: notes))
    }

    /// Asks `member` (this gateway or another member of our group) to step down.
    private func requestStepDown(of member: String) -> Bool {
        let request: Request = member == config.node.name ? .stepDown : .askToStepDown(member: member)
        return perform(request) == .done
    }

    func drillWithdraw(prefix text: String) -> ControlResponse {
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
        let deadline = started + .seconds(5)
        while Gateway.now() < deadline {
            let last = max(probe.lastReply ?? started, started)
            if Gateway.now().duration(since: last) > .milliseconds(50) { break }
            Thread.sleep(forTimeInterval: 0.002)
        }
        let withdrawnAt = max(probe.lastReply ?? started, started)
        _ = perform(.resumeAdvertisement(prefix))
        let readvertised = Gateway.now()
        let restoreDeadline = readvertised + .seconds(5)
        while Gateway.now() < restoreDeadline {
            if let last = probe.lastReply, last > readvertised { break }
            Thread.sleep(forTimeInterval: 0.002)
        }
        let restoredAt = Gateway.now()
        Thread.sleep(forTimeInterval: 0.2)
        let result = probe.stop()
        let restored = (probe.lastReply ?? .zero) > readvertised
        return ControlResponse(
            drill: DrillReport(
                kind: "withdraw", subnet: prefix.description,
                convergenceMilliseconds: Double(withdrawnAt.duration(since: started).nanosecondsValue) / 1e6,
                probesSent: result.sent, probesLost: result.lost,
                longestGapMilliseconds: result.longestGapMilliseconds, restored: restored,
                notes: [
                    "convergence = withdrawal until the far end stopped answering",
                    "re-advertised; answers resumed after \(Double(restoredAt.duration(since: readvertised).nanosecondsValue) / 1e6) ms",
                ]))
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
