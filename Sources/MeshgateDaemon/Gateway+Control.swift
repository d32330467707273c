public import ControlProtocol
import CryptoPrimitives
import Dataplane
import Foundation
import GatewayConfig
import GatewayController
import LinuxSystem
import Netlink
import NetworkTypes
import Policy
import Routing
import Synchronization
import WireGuard

// MARK: - Answers to the control socket

extension Gateway {
    /// Answers one CLI request. Runs on the client's control thread (clients are served concurrently);
    /// takes the state lock only briefly. Drills, key rotations and reloads change the gateway, so only
    /// one of them runs at a time; a second is refused at once rather than queued.
    public func handle(_ request: ControlRequest) -> ControlResponse {
        switch request {
        case .status: return ControlResponse(status: statusReport())
        case .routes: return ControlResponse(routes: routeReports())
        case .peers: return ControlResponse(peers: peerReports())
        case .ping(let target, let count): return ping(target: target, count: count)
        case .explain(let source, let destination, let port, let proto):
            return explain(source: source, destination: destination, port: port, proto: proto)
        case .policySource:
            guard let policy = lock.withLock({ kernel.enforcedPolicy }) else {
                return .failure("no policy is enforced on this gateway (policy_file is not set)")
            }
            return ControlResponse(message: String(decoding: policy.source, as: UTF8.self))
        case .drillFailover, .drillWithdraw, .drillRelay, .rotateKey, .reload, .drillKeyRotation:
            guard
                operationInProgress.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
                    .exchanged
            else {
                return .failure(
                    "another drill, key rotation or reload is running on this gateway; try again when it ends")
            }
            defer { operationInProgress.store(false, ordering: .releasing) }
            switch request {
            case .drillFailover(let group, let restore, let maxLoss):
                return drillFailover(group: group, restore: restore, maxLossPercent: maxLoss)
            case .drillWithdraw(let prefix, let hold): return drillWithdraw(prefix: prefix, holdSeconds: hold ?? 0)
            case .drillRelay(let peer, let seconds): return drillRelay(peer: peer, seconds: seconds)
            case .rotateKey: return rotateKey(measure: false)
            case .reload: return reload()
            default: return rotateKey(measure: true)
            }
        }
    }

    /// Steps the controller with one request from a control thread and wakes the loop, whose next
    /// deadline may now be sooner.
    func perform(_ request: Request) -> RequestResult {
        let result = lock.withLock { drive([.request(request)], now: Gateway.now()).results.first ?? .done }
        wakeEvent.signal()
        return result
    }

    func statusReport() -> StatusReport {
        let now = Gateway.now()
        let peers = peerReports()
        return lock.withLock {
            let config = controller.config
            var groups: [GroupReport] = []
            if let ha = config.ha, let election = controller.election {
                groups.append(
                    GroupReport(
                        group: ha.group, role: election.role.description,
                        primary: election.currentPrimary(now: now)?.gateway,
                        term: election.currentPrimary(now: now)?.term ?? 0, lanHealthy: controller.lanHealthy,
                        virtualIP: election.role == .primary ? ha.lan.virtualIP.description : nil,
                        members: election.members(now: now).map(\.name)))
            }
            var report = StatusReport(
                node: config.node.name, version: Gateway.version,
                uptimeSeconds: Double(now.duration(since: startedAt).components.seconds),
                overlayInterface: device.interfaceName,
                overlayAddress: config.overlay.address.description, listenPort: Int(device.listenPort),
                mtu: config.overlay.mtuBytes, publicKey: controller.publicKey.base64,
                advertised: controller.advertisedNow.map(\.description),
                forwarding: kernel.forwarding, mssClamp: kernel.mssClampInstalled, groups: groups,
                peersUp: peers.filter(\.up).count, peersTotal: peers.count, routesInstalled: kernel.installed.count)
            report.policy = kernel.enforcedPolicy?.description
            report.policyDigest = kernel.enforcedPolicy?.digest
            report.firewall = kernel.firewallInstalled
            report.problems = problemReports(now: now)
            report.health = controller.health.worst?.rawValue ?? "ok"
            return report
        }
    }

    func routeReports() -> [RouteReport] {
        let now = Gateway.now()
        return lock.withLock {
            let config = controller.config
            var reports: [RouteReport] = controller.advertisedNow.map {
                RouteReport(
                    subnet: $0.description, via: config.node.name, group: config.ha?.group,
                    advertisers: [config.node.name],
                    installed: false, local: true, lastChangeSeconds: nil)
            }
            let paths = Dictionary(pathReports(now: now).map { ($0.subnet, $0) }, uniquingKeysWith: { a, _ in a })
            let own = Set(controller.advertisedNow)
            let lastChange = controller.lastRouteChangeAt.map { Double(now.duration(since: $0).components.seconds) }
            for prefix in controller.routeTable.prefixes where !own.contains(prefix) {
                let advertisers = controller.routeTable.advertisers(of: prefix, now: now)
                var report = RouteReport(
                    subnet: prefix.description, via: controller.nextHops[prefix],
                    group: (advertisers.first { $0.gateway == controller.nextHops[prefix] } ?? advertisers.first)?.group
                        ?? nil,
                    advertisers: advertisers.map(\.gateway).sorted(),
                    installed: kernel.installed.contains(prefix), local: false, lastChangeSeconds: lastChange)
                report.path = paths[prefix.description]
                reports.append(report)
            }
            return reports.sorted { $0.subnet < $1.subnet }
        }
    }

    func peerReports() -> [PeerReport] {
        let snapshot = device.snapshot()
        let now = Gateway.now()
        let (config, keys, paths, stats, links) = lock.withLock {
            (
                controller.config, controller.peerKeys, Dictionary(grouping: pathReports(now: now), by: \.via),
                Dictionary(
                    controller.config.peers.map { ($0.name, controller.probes.statistics(for: $0.name, now: now)) },
                    uniquingKeysWith: { a, _ in a }),
                Dictionary(
                    controller.config.peers.map { peer in
                        (
                            peer.name,
                            (
                                controller.directLinkUp(peer.name, now: now), controller.relay(for: peer.name),
                                controller.relayedRTTMilliseconds(toward: peer.name)
                            )
                        )
                    }, uniquingKeysWith: { a, _ in a })
            )
        }
        let wallNow = Date().timeIntervalSince1970
        return config.peers.filter { $0.name != config.node.name }.map { peer in
            let key = keys[peer.name] ?? peer.publicKey
            let s = snapshot.peers.first { $0.publicKey == key }
            let handshake = s.flatMap { $0.lastHandshakeSeconds > 0 ? wallNow - Double($0.lastHandshakeSeconds) : nil }
            let probe = stats[peer.name] ?? nil
            var report = PeerReport(
                name: peer.name, publicKey: key.base64, endpoint: s?.endpoint?.description,
                overlayAddress: peer.overlayAddress.description,
                up: handshake.map { $0 < Double(Specification.rejectAfterTime.components.seconds) } ?? false,
                lastHandshakeSecondsAgo: handshake, receivedBytes: s?.rxBytes ?? 0, transmittedBytes: s?.txBytes ?? 0,
                rttP50Milliseconds: probe?.p50.finite, rttP95Milliseconds: probe?.p95.finite,
                rttP99Milliseconds: probe?.p99.finite, probeLossRatio: probe?.loss)
            report.paths = paths[peer.name]
            if let link = links[peer.name] {
                report.directLink = link.0
                report.via = link.1
                report.relayedRTTMilliseconds = link.2
            }
            return report
        }
    }
}

extension Double {
    /// nil for NaN or infinity (JSON cannot carry them).
    var finite: Double? { isFinite ? self : nil }
}
