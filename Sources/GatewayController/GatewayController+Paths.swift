import GatewayConfig
public import NetworkTypes
public import Routing

/// The state of one remote subnet's end-to-end probes, for `meshgate routes` and the metrics.
public struct PathStatus: Sendable, Hashable {
    public var subnet: IPPrefix
    /// The host probed behind the subnet.
    public var target: IPAddress
    /// The gateway the probes go through (the subnet's next hop).
    public var via: String
    /// False once the probes of the last ``ProbeTracker/unresponsiveAfter`` went unanswered.
    public var up: Bool
    public var statistics: ProbeTracker.Statistics?
}

// MARK: - End-to-end path probes: from our LAN side to a host behind each remote subnet

extension GatewayController {
    /// The ICMP payload of a path probe: this magic, the driver's nonce of the run, then the 32-bit
    /// sequence (big-endian).
    public static let pathProbeMagic = Array("MGPATH01".utf8)

    /// The learned route `address` falls in (the longest match) and its next hop, if any.
    public func nextHop(toward address: IPAddress) -> (prefix: IPPrefix, gateway: String)? {
        nextHops.filter { $0.key.contains(address) }.max { $0.key.length < $1.key.length }
            .map { ($0.key, $0.value) }
    }

    /// Whether this gateway probes paths: its probes leave from a LAN address, which the far side accepts
    /// (cryptokey routing) only from the primary of our group, or from a gateway without one.
    var probesPaths: Bool { pathProbeSource != nil && pathProbesAccepted }

    /// Whether the far side accepts probes from our LAN side now (we are primary, or alone).
    public var pathProbesAccepted: Bool { config.ha == nil || election?.role == .primary }

    /// Remote subnets with a probe target, each with its next hop: targets come from any gateway
    /// advertising the subnet, and only for subnets it advertises.
    ///
    /// Runs every probe round: it walks the (few) announced targets, never the learned routes, so its cost
    /// does not grow with the route table.
    public func pathProbeTargets(now: Timestamp) -> [IPPrefix: (target: IPAddress, via: String)] {
        var result: [IPPrefix: (IPAddress, String)] = [:]
        guard let source = pathProbeSource else { return [:] }
        for (gateway, targets) in peerProbeTargets.sorted(by: { $0.key < $1.key }) {
            for (prefix, target) in targets
            where result[prefix] == nil && prefix.contains(target) && target.isV4 == source.isV4 {
                // From the gateway the subnet is routed to, or a member of its group: a rival advertiser
                // of the prefix cannot point our probes elsewhere.
                guard let via = nextHops[prefix],
                    gateway == via
                        || (config.peerGroups[gateway] != nil && config.peerGroups[gateway] == config.peerGroups[via]),
                    routeTable.entries[gateway].map({ entry in entry.routes.contains { $0.prefix == prefix } }) ?? false
                else { continue }
                result[prefix] = (target, via)
            }
        }
        return result
    }

    mutating func sendPathProbes(now: Timestamp, out: inout Output) {
        guard probesPaths, let source = pathProbeSource else {
            // A standby's probes would be dropped at the far end: start afresh when we probe again.
            if paths.nextRoundAt != .zero { paths = ProbeTracker() }
            return
        }
        guard now >= paths.nextRoundAt else { return }
        let targets = pathProbeTargets(now: now)
        let keys = targets.keys.sorted()
        paths.keep(only: Set(keys.map(\.description)))
        for (key, sequence) in paths.round(now: now, peers: keys.map(\.description)) {
            guard let prefix = IPPrefix(key), let target = targets[prefix]?.target else { continue }
            out.pathProbes.append(PathProbe(source: source, target: target, sequence: sequence))
        }
    }

    /// The probed subnets and their state.
    public func pathStatuses(now: Timestamp) -> [PathStatus] {
        guard probesPaths else { return [] }
        return pathProbeTargets(now: now).sorted { $0.key < $1.key }.map { prefix, probe in
            PathStatus(
                subnet: prefix, target: probe.target, via: probe.via,
                up: paths.isResponsive(prefix.description, now: now),
                statistics: paths.statistics(for: prefix.description, now: now))
        }
    }

    /// The path RTTs measured since the last call (subnet text, seconds), for the histogram.
    public mutating func takeNewPathRTTs() -> [(subnet: String, seconds: Double)] {
        paths.takeNewRTTs().map { ($0.peer, $0.seconds) }
    }

    /// A path down while the tunnel to its gateway is up: something beyond the tunnel drops the packets.
    func pathFindings(now: Timestamp) -> [HealthProblem] {
        // Not in the start-up window: routes back may not be installed everywhere yet.
        guard now >= startUpWindowEnds else { return [] }
        return pathStatuses(now: now).filter { !$0.up && peersUp.contains($0.via) }.map { path in
            HealthProblem(
                .pathDown, subject: path.subnet.description, severity: .critical,
                message:
                    "probes from \(pathProbeSource?.description ?? "?") to \(path.target) behind \(path.subnet) go unanswered while the tunnel to \(path.via) is up",
                hint:
                    "`meshgate explain \(pathProbeSource?.description ?? "SRC") \(path.target)`: forwarding, a firewall or a route back on either side drops them"
            )
        }
    }
}
