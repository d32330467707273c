import ControlProtocol
import Dataplane
import Foundation
import GatewayConfig
import GatewayController
import LinuxSystem
import Logging
import NFTables
import NetworkTypes
import Routing
import WireGuard

extension Gateway {
    /// The longest a relay drill may block a direct path.
    static let relayDrillMaximumSeconds = 8
    /// How long after the unblock the drill waits for the direct path to come back (the recovery hold and
    /// a margin).
    static let relayDrillRestoreWait: Duration = LinkMonitor.recoveryHold + .seconds(3)

    /// Blocks the direct path to `peer` (UDP to and from its endpoint) for `seconds` while `peer` probes a
    /// host on our LAN every 5 ms from its LAN side, then unblocks: reports the relay that took over, the
    /// LAN-to-LAN outage, the RTT through the relay, and whether the direct path came back.
    func drillRelay(peer: String, seconds: Int) -> ControlResponse {
        guard (1...Self.relayDrillMaximumSeconds).contains(seconds) else {
            return .failure("--seconds must be 1-\(Self.relayDrillMaximumSeconds)")
        }
        let now = Gateway.now()
        let (known, carries, direct, relay, key, isPrimary) = lock.withLock {
            (
                controller.config.peer(named: peer) != nil && peer != controller.config.node.name,
                controller.nextHops.values.contains(peer), controller.directLinkUp(peer, now: now),
                controller.relay(for: peer), controller.peerKeys[peer],
                controller.election.map { $0.role == .primary } ?? true
            )
        }
        guard known, let key else { return .failure("\(peer) is not a peer of this gateway") }
        guard isPrimary else {
            return .failure(
                "this gateway is a standby: LAN traffic goes through its group's primary; run the drill there")
        }
        guard carries else { return .failure("no subnet of ours routes through \(peer): nothing to relay") }
        guard direct, relay == nil else {
            return .failure(
                "the direct path to \(peer) is not up now (\(relay.map { "relayed via \($0)" } ?? "down")); nothing to drill"
            )
        }
        guard let endpoint = device.snapshot().peers.first(where: { $0.publicKey == key })?.endpoint else {
            return .failure("\(peer) has no endpoint yet")
        }
        let burst = BurstDrill(gateway: self, remote: peer)
        guard let burst, burst.start() else {
            return .failure(
                "\(peer) did not start probing our LAN (no advertise[].probe target here, it is not primary, or it is busy); nothing was changed"
            )
        }
        Thread.sleep(forTimeInterval: 0.3)
        let block = PathBlock(endpoint: endpoint)
        do {
            try NFTablesSocket().apply(block.ruleset)
        } catch {
            _ = burst.stop()
            return .failure("cannot install the drill's block (table inet \(PathBlock.tableName)): \(error)")
        }
        logger.warning("relay drill: UDP to and from \(peer)'s endpoint \(endpoint) blocked for \(seconds) s")
        let blockedAt = Gateway.now()
        var via: String?
        var switchedAfter: Duration?
        var rtt: Double?
        let unblockAt = blockedAt + .seconds(seconds)
        while Gateway.now() < unblockAt {
            let (current, relayed) = lock.withLock {
                (controller.relay(for: peer), controller.relayedRTTMilliseconds(toward: peer))
            }
            if let current, via == nil {
                via = current
                switchedAfter = Gateway.now().duration(since: blockedAt)
            }
            if let relayed { rtt = relayed }
            Thread.sleep(forTimeInterval: 0.02)
        }
        var problems: [String] = []
        do {
            try NFTablesSocket().removeTable(named: PathBlock.tableName)
        } catch {
            problems.append("could not remove table inet \(PathBlock.tableName): \(error)")
        }
        logger.notice("relay drill: the direct path to \(peer) is unblocked")
        Thread.sleep(forTimeInterval: 0.5)
        let result = burst.stop()
        var restored = false
        let restoreDeadline = Gateway.now() + Self.relayDrillRestoreWait
        while Gateway.now() < restoreDeadline {
            if lock.withLock({ controller.relay(for: peer) }) == nil {
                restored = true
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        var sent = 0
        var lost = 0
        var longestGap = 0.0
        if let result {
            sent = result.sent
            lost = max(0, result.sent - result.received)
            longestGap = Double(result.longestGapEndMilliseconds) - Double(result.longestGapStartMilliseconds)
            if result.longestGapEndMilliseconds >= result.durationMilliseconds {
                problems.append("the LAN-to-LAN probes were not answered again")
            }
        } else {
            problems.append("\(peer) sent no burst result")
        }
        if via == nil { problems.append("no relay took over within \(seconds) s") }
        if !restored {
            problems.append(
                "traffic had not returned to the direct path \(Int(Self.relayDrillRestoreWait.seconds)) s after the unblock"
            )
        }
        var report = DrillReport(
            kind: "relay", convergenceMilliseconds: switchedAfter.map { $0.seconds * 1000 }, probesSent: sent,
            probesLost: lost, longestGapMilliseconds: longestGap, restored: restored,
            notes: [
                "UDP to and from \(endpoint) blocked for \(seconds) s (table inet \(PathBlock.tableName), removed)",
                "LAN to LAN: \(peer) probed \(burst.target) (on this gateway's LAN) every 5 ms from its LAN side",
            ])
        report.peer = peer
        report.via = via
        report.relayedRTTMilliseconds = rtt
        return Self.drillResponse(report, problems: problems)
    }
}
