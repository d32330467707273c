import GatewayConfig
public import NetworkTypes
import Policy
public import Routing

/// One hop of `meshgate explain`: where, what was checked, whether it passes, and the evidence.
public struct ExplainHop: Sendable, Hashable {
    public var at: String
    public var check: String
    public var ok: Bool
    public var detail: String

    public init(at: String, check: String, ok: Bool, detail: String) {
        self.at = at
        self.check = check
        self.ok = ok
        self.detail = detail
    }
}

/// A flow to explain: addresses, and the protocol and port when the policy should be asked.
public struct ExplainFlow: Sendable, Hashable {
    public var source: IPAddress
    public var destination: IPAddress
    /// IP protocol number (6 TCP, 17 UDP); nil: no policy verdict.
    public var protocolNumber: UInt8?
    public var port: UInt16

    public init(source: IPAddress, destination: IPAddress, protocolNumber: UInt8?, port: UInt16) {
        self.source = source
        self.destination = destination
        self.protocolNumber = protocolNumber
        self.port = port
    }
}

/// The explain query and answer on ``GatewayController/probePort`` (inside the tunnel, so the asker is an
/// authenticated peer):
///
/// - query: `MGEXPLRQ` · id (4) · source (family 1, address 4|16) · destination (same) · protocol (1,
///   0 = none) · port (2);
/// - answer: `MGEXPLAN` · id (4) · hop count (1, at most ``maximumHops``) · per hop: ok (1) · `at`,
///   `check`, `detail` (each a 2-byte length and UTF-8, at most ``maximumText`` bytes).
public enum ExplainMessage {
    public static let queryMagic = Array("MGEXPLRQ".utf8)
    public static let answerMagic = Array("MGEXPLAN".utf8)
    public static let maximumHops = 8
    public static let maximumText = 240

    public static func query(id: UInt32, flow: ExplainFlow) -> [UInt8] {
        var bytes = queryMagic + ProbePortBytes.be32(id)
        bytes += ProbePortBytes.address(flow.source) + ProbePortBytes.address(flow.destination)
        bytes += [flow.protocolNumber ?? 0, UInt8(flow.port >> 8), UInt8(flow.port & 0xff)]
        return bytes
    }

    public static func parseQuery(_ bytes: [UInt8]) -> (id: UInt32, flow: ExplainFlow)? {
        guard bytes.starts(with: queryMagic) else { return nil }
        var reader = ProbePortBytes.Reader(bytes: bytes, offset: queryMagic.count)
        guard let id = reader.u32(), let source = reader.address(), let destination = reader.address(),
            let proto = reader.u8(), let high = reader.u8(), let low = reader.u8(), reader.offset == bytes.count
        else { return nil }
        return (
            id,
            ExplainFlow(
                source: source, destination: destination, protocolNumber: proto == 0 ? nil : proto,
                port: UInt16(high) << 8 | UInt16(low))
        )
    }

    public static func answer(id: UInt32, hops: [ExplainHop]) -> [UInt8] {
        var bytes = answerMagic + ProbePortBytes.be32(id)
        let kept = hops.prefix(maximumHops)
        bytes.append(UInt8(kept.count))
        for hop in kept {
            bytes.append(hop.ok ? 1 : 0)
            for text in [hop.at, hop.check, hop.detail] {
                let utf8 = Array(text.utf8.prefix(maximumText))
                bytes += [UInt8(utf8.count >> 8), UInt8(utf8.count & 0xff)] + utf8
            }
        }
        return bytes
    }

    public static func parseAnswer(_ bytes: [UInt8]) -> (id: UInt32, hops: [ExplainHop])? {
        guard bytes.starts(with: answerMagic) else { return nil }
        var reader = ProbePortBytes.Reader(bytes: bytes, offset: answerMagic.count)
        guard let id = reader.u32(), let count = reader.u8(), Int(count) <= maximumHops else { return nil }
        var hops: [ExplainHop] = []
        for _ in 0..<count {
            guard let ok = reader.u8(), ok <= 1, let at = reader.text(maximumText: maximumText),
                let check = reader.text(maximumText: maximumText),
                let detail = reader.text(maximumText: maximumText)
            else { return nil }
            hops.append(ExplainHop(at: at, check: check, ok: ok == 1, detail: detail))
        }
        guard reader.offset == bytes.count else { return nil }
        return (id, hops)
    }
}

// MARK: - What this gateway would do with a flow

extension GatewayController {
    /// Explain answers sent per second at most: a peer asking in a loop gets the rest dropped.
    static let explainAnswersPerSecond = 20

    /// The hops on this gateway where a flow enters the mesh: its forwarding, filters and policy, its route
    /// and next hop, the tunnel and the end-to-end probes. Returns the next hop to ask for its side.
    /// `installed` are the routes the kernel holds.
    public func explainIngress(_ flow: ExplainFlow, installed: Set<IPPrefix>, now: Timestamp)
        -> (hops: [ExplainHop], nextHop: String?)
    {
        let me = config.node.name
        var hops: [ExplainHop] = []
        let own = config.advertise + connectedLAN
        if let subnet = own.filter({ $0.contains(flow.source) }).max(by: { $0.length < $1.length }) {
            var detail = "\(flow.source) is in \(subnet), behind this gateway's region"
            if let election, election.role != .primary {
                detail +=
                    "; its traffic enters the mesh at the primary \(election.currentPrimary(now: now)?.gateway ?? "(none)")"
            }
            hops.append(ExplainHop(at: me, check: "source", ok: true, detail: detail))
        } else {
            hops.append(
                ExplainHop(
                    at: me, check: "source", ok: true,
                    detail: "\(flow.source) is not in this region's subnets: explaining from this gateway anyway"))
        }
        hops += localHops(flow, at: me)
        guard let (prefix, via) = nextHop(toward: flow.destination) else {
            hops.append(
                ExplainHop(at: me, check: "route", ok: false, detail: whyNoRoute(to: flow.destination, now: now)))
            return (hops, nil)
        }
        if let conflict = routeConflicts.first(where: { $0.prefix == prefix }) {
            hops.append(
                ExplainHop(
                    at: me, check: "route", ok: false,
                    detail:
                        "\(prefix) is contested: advertised by \(conflict.gateways.joined(separator: ", ")) outside one HA group; routed via \(via)"
                ))
            return (hops, via)
        }
        let kernel = installed.contains(prefix)
        hops.append(
            ExplainHop(
                at: me, check: "route", ok: kernel,
                detail: kernel
                    ? "\(flow.destination) matches \(prefix) via \(via) (installed)"
                    : "\(prefix) via \(via) is not in the kernel (\(kernelSyncFailure ?? "a foreign route may block it"))"
            ))
        let up = peersUp.contains(via)
        var tunnel = up ? "the tunnel to \(via) is up" : "the tunnel to \(via) is DOWN"
        if let stats = probes.statistics(for: via, now: now) {
            tunnel += "; overlay probes \(Int((stats.loss * 100).rounded()))% loss"
            if stats.p50.isFinite { tunnel += ", p50 \(stats.p50.formatted1) ms" }
        }
        if !up, let problem = health.current.values.first(where: { $0.kind == .peerDown && $0.subject == via }) {
            tunnel += ": \(problem.hint)"
        }
        hops.append(ExplainHop(at: "\(me) → \(via)", check: "tunnel", ok: up, detail: tunnel))
        if let path = pathStatuses(now: now).first(where: { $0.subnet == prefix }) {
            hops.append(
                ExplainHop(
                    at: "\(me) → \(via)", check: "path", ok: path.up,
                    detail: path.up
                        ? "end-to-end probes to \(path.target) are answered"
                        : "end-to-end probes to \(path.target) behind \(prefix) go unanswered"))
        }
        return (hops, via)
    }

    /// The hops on this gateway where a flow leaves the mesh towards its LAN: the route to the
    /// destination, forwarding, filters, policy, and the route back to the source.
    public func explainEgress(_ flow: ExplainFlow, now: Timestamp) -> [ExplainHop] {
        let me = config.node.name
        var hops: [ExplainHop] = []
        let own = advertisedNow + connectedLAN
        if let subnet = own.filter({ $0.contains(flow.destination) }).max(by: { $0.length < $1.length }) {
            var detail = "\(flow.destination) is in \(subnet), on this gateway's LAN side"
            if let election, election.role != .primary { detail += " (this gateway is standby)" }
            hops.append(ExplainHop(at: me, check: "route", ok: true, detail: detail))
        } else if let via = nextHop(toward: flow.destination)?.gateway {
            hops.append(
                ExplainHop(
                    at: me, check: "route", ok: false,
                    detail: "\(flow.destination) is not behind this gateway: it would send it on to \(via)"))
        } else {
            hops.append(
                ExplainHop(
                    at: me, check: "route", ok: false,
                    detail: "\(flow.destination) is not behind this gateway (is it advertised? withdrawn?)"))
        }
        hops += localHops(flow, at: me)
        let ownSource = own.contains { $0.contains(flow.source) }
        if let back = nextHop(toward: flow.source) {
            let up = peersUp.contains(back.gateway)
            hops.append(
                ExplainHop(
                    at: me, check: "route back", ok: up,
                    detail:
                        "replies to \(flow.source) go via \(back.gateway) (\(back.prefix))\(up ? "" : ", whose tunnel is DOWN")"
                ))
        } else if !ownSource && !config.peers.contains(where: { $0.overlayAddress == flow.source }) {
            hops.append(
                ExplainHop(
                    at: me, check: "route back", ok: false,
                    detail: "no route back to \(flow.source): replies would be lost"))
        }
        return hops
    }

    /// Forwarding switches, foreign forward-hook filters and the policy verdict on this gateway.
    private func localHops(_ flow: ExplainFlow, at me: String) -> [ExplainHop] {
        var hops: [ExplainHop] = []
        let off = (kernelObservation?.forwarding ?? [:]).filter { !$0.value }.keys.sorted()
        hops.append(
            ExplainHop(
                at: me, check: "forwarding", ok: off.isEmpty,
                detail: off.isEmpty
                    ? "on (\((kernelObservation?.forwarding.keys.sorted() ?? []).joined(separator: ", ")))"
                    : "\(off.joined(separator: ", ")) = 0: not forwarded"))
        let filters = kernelObservation?.foreignForwardFilters ?? []
        hops.append(
            ExplainHop(
                at: me, check: "nftables", ok: filters.isEmpty,
                detail: filters.isEmpty
                    ? "no foreign chain on the forward hook"
                    : "foreign forward-hook chains may drop it: \(filters.joined(separator: "; "))"))
        if let policy = config.policy?.policy {
            if let proto = flow.protocolNumber {
                let rule = policy.decide(
                    source: flow.source, destination: flow.destination, protocolNumber: proto, port: flow.port)
                hops.append(
                    ExplainHop(
                        at: me, check: "policy", ok: rule != nil,
                        detail: rule.map { "accepted by \($0.name)" } ?? "denied: no rule accepts it (default deny)"))
            } else {
                hops.append(ExplainHop(at: me, check: "policy", ok: true, detail: "not asked: give PORT/PROTO"))
            }
        }
        return hops
    }

    /// Why no route covers `address`: a refusal, an expired key, no primary, or nobody advertises it.
    private func whyNoRoute(to address: IPAddress, now: Timestamp) -> String {
        if let prefix = unapprovedRoutes.keys.first(where: { $0.contains(address) }) {
            return "no route: \(unapprovedRoutes[prefix]!) advertises \(prefix), but the policy does not approve it"
        }
        if let prefix = refusedInsideGroups.first(where: { $0.contains(address) }) {
            return "no route: \(prefix) was refused (it lies inside another HA group's subnet)"
        }
        if let prefix = withoutPrimary.first(where: { $0.contains(address) }) {
            return "no route: no gateway of the group advertising \(prefix) claims primary"
        }
        for prefix in routeTable.prefixes where prefix.contains(address) {
            let advertisers = routeTable.advertisers(of: prefix, now: now).map(\.gateway)
            if let expired = advertisers.first(where: { keyExpiryEnforced.contains($0) }) {
                return "no route: \(prefix) is advertised by \(expired), whose key expired here"
            }
        }
        return "no route to \(address): no gateway advertises a subnet containing it (withdrawn, or not in the mesh)"
    }
}
