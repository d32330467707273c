import GatewayConfig
import NetworkTypes
import Policy
import Routing

/// What the driver reads from the kernel for the health checks, once per housekeeping.
public struct KernelObservation: Sendable, Hashable {
    /// Every forwarding switch the gateway depends on, by sysctl name (`net.ipv4.ip_forward`,
    /// `net.ipv4.conf.lan.forwarding`): true when on. Global switches the driver restored read true.
    public var forwarding: [String: Bool]
    /// Global switches found off and switched back on since the last observation.
    public var forwardingRestored: [String]
    /// What changed in meshgate's nftables table since it was installed (the driver reinstalls it), or nil.
    public var rulesetDrift: String?
    /// Whether the configured policy (if any) is the one in the kernel.
    public var policyEnforced: Bool
    /// Base chains of other tables on the forward hook that can drop (policy drop, or rules).
    public var foreignForwardFilters: [String]

    public init(
        forwarding: [String: Bool], forwardingRestored: [String] = [], rulesetDrift: String? = nil,
        policyEnforced: Bool = true, foreignForwardFilters: [String] = []
    ) {
        self.foreignForwardFilters = foreignForwardFilters
        self.forwarding = forwarding
        self.forwardingRestored = forwardingRestored
        self.rulesetDrift = rulesetDrift
        self.policyEnforced = policyEnforced
    }
}

// MARK: - The health verdict: findings from the controller's state and the kernel's

extension GatewayController {
    /// Takes a kernel observation: counts forwarding switch-offs and ruleset drift, with audit events.
    mutating func observe(_ observation: KernelObservation, now: Timestamp, out: inout Output) {
        for name in observation.forwardingRestored {
            forwardingSwitchedOff[name, default: 0] += 1
            forwardingRestorations.append((name, now))
            out.log(.critical, "\(name) was switched OFF by someone; meshgated switched it back on")
            out.audit("forwarding_switched_off", ["switch": .string(name), "restored": .string("true")])
        }
        let previous = kernelObservation?.forwarding ?? [:]
        for (name, on) in observation.forwarding.sorted(by: { $0.key < $1.key })
        where !on && previous[name] != false {
            forwardingSwitchedOff[name, default: 0] += 1
            out.log(.critical, "\(name) is 0: this gateway does not forward what arrives on that interface")
            out.audit("forwarding_switched_off", ["switch": .string(name), "restored": .string("false")])
        }
        if let drift = observation.rulesetDrift {
            rulesetDrifts.append((drift, now))
            rulesetDriftTotal += 1
            out.log(.critical, "nftables table inet meshgate changed under us (\(drift)); reinstalled it")
            out.audit("ruleset_changed", ["table": .string("inet meshgate"), "change": .string(drift)])
        }
        forwardingRestorations.removeAll { now.duration(since: $0.at) > Health.recentDriftWindow }
        rulesetDrifts.removeAll { now.duration(since: $0.at) > Health.recentDriftWindow }
        kernelObservation = observation
    }

    /// Notes a change of our group's primary (for the flap check).
    mutating func notePrimary(now: Timestamp) {
        guard let election else { return }
        let primary = election.currentPrimary(now: now)?.gateway
        if primary != lastSeenPrimary {
            if lastSeenPrimary != nil, primary != nil { primaryChanges.append(now) }
            if primary != nil { lastSeenPrimary = primary }
        }
        primaryChanges.removeAll { now.duration(since: $0) > Health.flapWindow }
    }

    /// Recomputes the verdict, auditing what was raised or cleared.
    mutating func checkHealth(now: Timestamp, out: inout Output) {
        let (events, logs) = health.update(healthFindings(now: now), now: now)
        out.events += events
        out.logs += logs
    }

    /// Everything wrong right now, as far as this gateway can tell.
    func healthFindings(now: Timestamp) -> [HealthProblem] {
        var found: [HealthProblem] = []
        forwardingFindings(now: now, into: &found)
        peerFindings(now: now, into: &found)
        routeFindings(now: now, into: &found)
        groupFindings(now: now, into: &found)
        for finding in pathFindings(now: now) { found.append(finding) }
        if let failure = kernelSyncFailure {
            found.append(
                HealthProblem(
                    .kernelSyncFailing, subject: "kernel", severity: .critical,
                    message: "the kernel refuses meshgate's changes: \(failure)",
                    hint: "see the log; routes, the virtual IP or nftables may be stale"))
        }
        if let drift = rulesetDrifts.last {
            found.append(
                HealthProblem(
                    .mssClampChanged, subject: "inet meshgate", severity: .warning,
                    message:
                        "meshgate's nftables table (MSS clamp, policy) was changed under us \(rulesetDrifts.count) time(s) in the last 10 minutes (last: \(drift.change)); reinstalled",
                    hint: "find what edits nftables (a foreign `nft flush ruleset`, a firewall service) and stop it"))
        }
        for filter in kernelObservation?.foreignForwardFilters ?? [] {
            found.append(
                HealthProblem(
                    .foreignForwardFilter, subject: filter, severity: .warning,
                    message:
                        "\(filter) is not meshgate's and sees every forwarded packet: it may drop traffic between the sites",
                    hint: "nft list ruleset; remove it, or make sure it accepts the overlay's traffic"))
        }
        if config.policy != nil, kernelObservation?.policyEnforced == false {
            found.append(
                HealthProblem(
                    .policyNotEnforced, subject: "policy", severity: .critical,
                    message: "the configured policy is not in the kernel", hint: "see the log for the nftables error"))
        }
        for (prefix, gateway) in unapprovedRoutes.sorted(by: { $0.key < $1.key }) {
            found.append(
                HealthProblem(
                    .routeNotApproved, subject: prefix.description, severity: .warning,
                    message: "\(gateway) advertises \(prefix), which the policy does not approve: refused",
                    hint: "add the gateway to autoApprovers.routes in the policy, or stop it advertising the prefix"))
        }
        for (peer, digest) in policyMismatches {
            let theirs = digest == "none" ? "no policy" : "policy sha256 \(digest.prefix(12))"
            let ours = config.policy.map { "sha256 \($0.shortDigest)" } ?? "no policy"
            found.append(
                HealthProblem(
                    .policyMismatch, subject: peer, severity: .warning,
                    message: "\(peer) runs \(theirs), this gateway \(ours): the mesh disagrees on its policy",
                    hint: "deploy the same policy file everywhere (`meshgate policy diff`)"))
        }
        return found
    }

    private func forwardingFindings(now: Timestamp, into found: inout [HealthProblem]) {
        for (name, on) in (kernelObservation?.forwarding ?? [:]).sorted(by: { $0.key < $1.key }) where !on {
            found.append(
                HealthProblem(
                    .forwardingOff, subject: name, severity: .critical,
                    message: "\(name) is 0: packets arriving there are not forwarded between the sites",
                    hint: "sysctl -w \(name)=1, and find what switched it off (/etc/sysctl.d, an agent)"))
        }
        var restored: [String: Int] = [:]
        for restoration in forwardingRestorations { restored[restoration.name, default: 0] += 1 }
        for (name, count) in restored.sorted(by: { $0.key < $1.key }) {
            found.append(
                HealthProblem(
                    .forwardingSwitchedOff, subject: name, severity: .warning,
                    message:
                        "\(name) was switched off \(count) time(s) in the last 10 minutes; meshgated switched it back on each time",
                    hint: "find what writes \(name) (a sysctl.d file, a configuration agent) and stop it"))
        }
    }

    private func peerFindings(now: Timestamp, into found: inout [HealthProblem]) {
        guard let sessions else { return }
        let wallNow = sessions.wallSeconds
        for peer in otherPeers {
            if keyExpiryEnforced.contains(peer.name) {
                found.append(
                    HealthProblem(
                        .keyExpired, subject: peer.name, severity: .critical,
                        message:
                            "the key of \(peer.name) expired at \(peer.keyExpires?.text ?? "?"): it is refused, and so is all traffic from and to it",
                        hint: "rotate the peer's key and update public_key and key_expires, then reload"))
                continue
            }
            if let expiry = peer.keyExpires,
                expiry.secondsSince1970 - wallNow < GatewayController.keyExpiryWarning.components.seconds
            {
                let days = Double(expiry.secondsSince1970 - wallNow) / 86400
                found.append(
                    HealthProblem(
                        .keyExpiring, subject: peer.name, severity: .warning,
                        message: "the key of \(peer.name) expires at \(expiry.text) (in \(days.formatted1) days)",
                        hint: "rotate it (`meshgate rotate-key` on \(peer.name)) and update key_expires"))
            }
            guard !peersUp.contains(peer.name), now >= startUpWindowEnds else { continue }
            // Only for a peer that is down: the routes are walked then, not every second.
            let subnets = nextHops.filter { $0.value == peer.name }.keys.sorted()
            let last = sessions.lastHandshake[peer.name] ?? 0
            var hint: String
            if last == 0 {
                hint =
                    "no handshake ever completed: check its endpoint, UDP reachability, and that each side has the other's current key"
            } else if wallNow - last >= GatewayController.rejectAfterTimeSeconds {
                hint =
                    "no handshake for \(wallNow - last) s: it is down, UDP to it is blocked, or it no longer accepts this gateway's key (expired or replaced on its side)"
            } else {
                hint =
                    "its session is \(wallNow - last) s old but probes go unanswered: it is down, or it dropped this gateway's key (expired or replaced on its side)"
            }
            if let changed = lastKeyChangeAt, now.duration(since: changed) < .seconds(600) {
                hint += "; this gateway's key changed \(Int(now.duration(since: changed).seconds)) s ago"
            }
            if let relay = links.relays[peer.name] {
                hint += "; meanwhile its subnets go through \(relay) (path_changed in the audit log)"
            }
            found.append(
                HealthProblem(
                    .peerDown, subject: peer.name, severity: subnets.isEmpty ? .warning : .critical,
                    message: subnets.isEmpty
                        ? "\(peer.name) does not answer"
                        : "\(peer.name) does not answer, and traffic to \(subnets.map(\.description).joined(separator: ", ")) goes through it",
                    hint: hint))
        }
    }

    private func routeFindings(now: Timestamp, into found: inout [HealthProblem]) {
        for conflict in routeConflicts {
            let advertisers = conflict.gateways.map { gateway in
                "\(gateway)\(config.peerGroups[gateway].map { " (group \($0))" } ?? "")"
            }
            let holder = nextHops[conflict.prefix].map { "kept with \($0)" } ?? "not routed"
            found.append(
                HealthProblem(
                    .routeConflict, subject: conflict.prefix.description, severity: .critical,
                    message:
                        "\(conflict.prefix) is advertised by \(advertisers.joined(separator: " and ")), outside one HA group; \(holder)",
                    hint:
                        "one of them is misconfigured or hostile: remove the prefix from the wrong gateway's advertise, or approve one owner in the policy"
                ))
        }
        // Our own subnets are not routed through the overlay here (the metric skips them too).
        // Another gateway advertising one of our own subnets: refused here, but regions that do not know
        // better may route it there.
        for entry in routeTable.liveEntries(now: now).sorted(by: { $0.gateway < $1.gateway }) {
            for prefix in entry.rejected.sorted() {
                guard let own = config.advertise.first(where: { $0.contains(prefix) || prefix.contains($0) }) else {
                    continue
                }
                found.append(
                    HealthProblem(
                        .routeConflict, subject: prefix.description, severity: .critical,
                        message:
                            "\(entry.gateway) advertises \(prefix), which overlaps this gateway's own subnet \(own): refused here, but other regions may send its traffic to \(entry.gateway)",
                        hint: "remove the prefix from \(entry.gateway)'s advertise, or approve its owner in the policy")
                )
            }
        }
        for prefix in withoutPrimary where !config.advertise.contains(prefix) {
            found.append(
                HealthProblem(
                    .routeWithoutPrimary, subject: prefix.description, severity: .critical,
                    message: "no gateway of the group advertising \(prefix) claims primary",
                    hint: "check the group's members (`meshgate status` there)"))
        }
        let advertised = Set(advertisedNow)
        for prefix in config.advertise where !advertised.contains(prefix) {
            found.append(
                HealthProblem(
                    .advertisementWithdrawn, subject: prefix.description, severity: .critical,
                    message: "\(prefix) is configured but not advertised: the mesh has no route to it from here",
                    hint: "a withdrawal drill holds it back; it is advertised again when the drill ends (or restart)"))
        }
    }

    private func groupFindings(now: Timestamp, into found: inout [HealthProblem]) {
        // Live claims only: a dead primary's last advert claims the role until its routes expire (15 s),
        // but it leaves the peers that answer within seconds (and our own election drops it sooner).
        let ownGroup = config.ha?.group
        let remoteClaims = routeTable.roleReports(now: now).filter {
            $0.group != ownGroup && peersUp.contains($0.gateway)
        }
        let view = PrimaryView(reports: remoteClaims + (election?.reports(now: now) ?? []))
        for (group, claims) in Dictionary(grouping: view.reports.filter { $0.role == .primary }, by: \.group)
        where claims.count > 1 {
            found.append(
                HealthProblem(
                    .multiplePrimaries, subject: group, severity: .critical,
                    message:
                        "\(claims.map(\.gateway).sorted().joined(separator: " and ")) all claim primary of \(group): traffic may split between them",
                    hint: "the members do not hear each other: check the LAN and the tunnels between them"))
        }
        if let ha = config.ha {
            if !lanHealthy {
                found.append(
                    HealthProblem(
                        .interfaceDown, subject: ha.lan.interface, severity: .critical,
                        message: "the LAN interface \(ha.lan.interface) is down or has no carrier",
                        hint: "ip link show \(ha.lan.interface)"))
            }
            if !wanHealthy {
                found.append(
                    HealthProblem(
                        .interfaceDown, subject: "wan", severity: .critical,
                        message: "no route to any peer endpoint: the WAN is down",
                        hint: "ip route get <a peer endpoint>"))
            }
            if primaryChanges.count > Health.flapChanges {
                found.append(
                    HealthProblem(
                        .failoverFlap, subject: ha.group, severity: .warning,
                        message: "the primary of \(ha.group) changed \(primaryChanges.count) times in 10 minutes",
                        hint:
                            "a member keeps failing or the LAN between the members is lossy; raise dead_interval if hellos are lost"
                    ))
            }
        }
    }
}
