import Dataplane
import Foundation
import GatewayConfig
import GatewayController
import LinuxSystem
import Logging
import NFTables
import NetworkTypes
import Policy
import Routing
import Synchronization
import Telemetry
import WireGuard

// MARK: - Prometheus metrics: refreshed from the gateway's state once a second and on events

extension Gateway {
    /// Starts the scrape endpoint when `metrics.listen` is configured.
    func startMetricsServer() throws {
        guard let listen = config.metrics?.listen else { return }
        let registry = metrics
        let server = MetricsServer(host: listen.address.description, port: Int(listen.port), logger: logger) {
            [self] in
            refreshPolicyCounters()
            return registry.render()
        }
        let port = try server.start()
        metricsServer = server
        logger.info("metrics at http://\(listen.address):\(port)/metrics")
    }

    /// Copies the current state into the registry. Caller holds `lock`.
    func refreshMetrics(now: Timestamp, snapshot: UAPIDeviceSnapshot) {
        let wallNow = Date().timeIntervalSince1970
        let config = controller.config
        for peer in config.peers where peer.name != config.node.name {
            let key = controller.peerKeys[peer.name] ?? peer.publicKey
            let s = snapshot.peers.first { $0.publicKey == key }
            let handshake = s.flatMap { $0.lastHandshakeSeconds > 0 ? Double($0.lastHandshakeSeconds) : nil }
            metrics.setPeer(
                name: peer.name, up: controller.peersUp.contains(peer.name), lastHandshake: handshake,
                rxBytes: s?.rxBytes ?? 0,
                txBytes: s?.txBytes ?? 0, keyExpiry: peer.keyExpires.map { Double($0.secondsSince1970) })
            if let stats = controller.probes.statistics(for: peer.name, now: now) {
                metrics.setPeerProbeLoss(name: peer.name, ratio: stats.loss)
            }
            metrics.setPeerLink(
                name: peer.name, directUp: controller.directLinkUp(peer.name, now: now),
                via: controller.relay(for: peer.name), pathChanges: controller.links.pathChanges[peer.name] ?? 0)
        }
        let configured = Set(config.peers.map(\.name))
        for (peer, seconds) in controller.takeNewRTTs() where configured.contains(peer) {
            metrics.observePeerRTT(name: peer, seconds: seconds)
        }
        // The learned subnets' series follow the route computation (they grow with the table): set again
        // only when it ran. Our own subnets' primary is the election's: set every time (they are few).
        var own = Set<IPPrefix>()
        if let ha = config.ha, let election = controller.election {
            let primary = election.currentPrimary(now: now)?.gateway
            for prefix in controller.advertisedNow {
                metrics.setRoutePrimary(subnet: prefix, gateway: primary)
                own.insert(prefix)
            }
            metrics.setHARole(group: ha.group, isPrimary: election.role == .primary)
        } else {
            for prefix in controller.advertisedNow {
                metrics.setRoutePrimary(subnet: prefix, gateway: config.node.name)
                own.insert(prefix)
            }
        }
        if controller.routeComputations != exportedRouteComputations {
            exportedRouteComputations = controller.routeComputations
            var learned = Set<IPPrefix>()
            for (prefix, gateway) in controller.nextHops {
                metrics.setRoutePrimary(subnet: prefix, gateway: gateway)
                learned.insert(prefix)
            }
            for prefix in controller.withoutPrimary where !controller.advertisedNow.contains(prefix) {
                metrics.setRoutePrimary(subnet: prefix, gateway: nil)
                learned.insert(prefix)
            }
            // A subnet nobody advertises any more is gone, not "without primary": drop its series.
            for prefix in exportedLearned.subtracting(learned) where !own.contains(prefix) {
                metrics.removeRoute(subnet: prefix)
            }
            exportedLearned = learned
        }
        for prefix in exportedOwn.subtracting(own) where !exportedLearned.contains(prefix) {
            metrics.removeRoute(subnet: prefix)
        }
        exportedOwn = own
        metrics.setRoutesInstalled(kernel.installed.count)
        if let changed = controller.lastRouteChangeAt {
            metrics.setRouteLastChange(at: wallNow - Double(now.duration(since: changed).nanosecondsValue) / 1e9)
        }
        for (family, on) in kernel.forwarding {
            if let f = MetricsRegistry.AddressFamily(rawValue: family) { metrics.setForwarding(family: f, enabled: on) }
        }
        metrics.setMSSClampedPacketsTotal(kernel.mssClampedPackets())
        metrics.setPolicyEnforced(kernel.enforcedPolicy != nil)
        for (reason, total) in controller.routeRefusals { metrics.setRoutesRefusedTotal(reason: reason, total: total) }
        let drops = device.engine.withLock { $0.drops }
        for reason in DropReason.allCases where drops[reason] > 0 {
            metrics.setPacketsDroppedTotal(reason: reason.rawValue, total: drops[reason])
        }
        for (result, total) in controller.handshakeTotals { metrics.setHandshakesTotal(result: result, total: total) }
        for (reason, total) in controller.routeMessageDrops {
            metrics.setRouteMessagesDroppedTotal(reason: reason, total: total)
        }
    }
}

extension Gateway {
    /// Copies the policy's per-rule counters into the registry, when a scrape asks: a policy of 10,000
    /// rules is a dump of 10,000 kernel objects, which must not run on every loop pass (nor under the
    /// gateway's lock, which the data plane's housekeeping waits for).
    func refreshPolicyCounters() {
        let (policy, installed) = lock.withLock { (kernel.enforcedPolicy, kernel.mssClampInstalled) }
        guard installed else { return }
        let counters = KernelState.policyCounters()
        let transit = counters[RelayGuard.transitCounter]
        metrics.setRelayTotals(
            transitPackets: transit?.packets ?? 0, transitBytes: transit?.bytes ?? 0,
            loopDropped: counters[RelayGuard.loopCounter]?.packets ?? 0)
        for rule in policy?.policy.ruleNames ?? [] {
            guard let counter = counters[PolicyRuleset.counterName(forRule: rule)] else { continue }
            metrics.setPolicyTotals(rule: rule, packets: counter.packets, bytes: counter.bytes)
        }
        if policy != nil, let denied = counters[PolicyRuleset.denyCounter] {
            metrics.setPolicyTotals(rule: "default-deny", packets: denied.packets, bytes: denied.bytes)
        }
        if let dropped = counters[GatewayFirewall.denyCounter] { metrics.setFirewallDroppedTotal(dropped.packets) }
    }
}
