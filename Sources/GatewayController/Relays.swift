public import CryptoPrimitives
import GatewayConfig
public import NetworkTypes
public import Routing

/// The direct links between gateways and the relays that carry a gateway's subnets while its direct link
/// is down (docs/route-protocol.md#relays). The controller feeds it what the driver read from the engine
/// and the peers' links messages; it holds the relay chosen for each gateway.
public struct LinkMonitor: Sendable {
    /// How often the driver runs a liveness round: it answers, with a keepalive, what each peer sent since
    /// we last sent it anything, polls a peer whose answer is late, and reads back each link's state.
    /// Nothing goes through an idle tunnel: at rest the overlay probes (one a second) are the traffic.
    public static let checkInterval: Duration = .milliseconds(200)
    /// How much earlier than due a round may run when the loop steps anyway.
    static let earlyBy: Duration = .milliseconds(60)
    /// A peer answers our data within a round of its own (or at once: a probe answer, a TCP ACK); one
    /// whose answer is this late is polled, so a lost answer is not taken for a dead link.
    public static let pollAfter: Duration = .milliseconds(350)
    /// A direct link is down when what we sent through it has had nothing back for this long: a round
    /// of the peer's to answer, a poll and its answer, with a margin for a late loop step.
    public static let deadAfter: Duration = .milliseconds(700)
    /// Or when nothing at all came through it for this long (we send it a probe every second, so this
    /// only backs the rule above up).
    public static let silentAfter: Duration = .seconds(3)
    /// A relayed gateway goes back to its direct link once that has been up this long without a break.
    public static let recoveryHold: Duration = .seconds(5)
    /// A gateway never heard directly is relayed only this long after start (its tunnel may be coming
    /// up), unless we have no endpoint for it: then only it can open the tunnel, or a hole punch.
    public static let startUpGrace: Duration = .seconds(10)
    /// An RTT step in relay costs: relays within 10 ms of each other rank by name, so both ends of a pair,
    /// which measure slightly different RTTs, pick the same one.
    static let costStepMilliseconds = 10
    /// The cost of a link whose RTT neither end has measured.
    static let unknownLinkCost = 10
    /// Loss is judged over this many of the latest overlay probes (one a second) to a peer, once at least
    /// ``lossSettledMinimum`` of them were answered or timed out.
    static let lossWindow = 10
    static let lossSettledMinimum = 5
    /// A direct link that loses this share of its probes is much worse than a clean relay: its traffic
    /// goes through one while the link stays up.
    static let lossyPercent = 30
    /// A link is clean (fit to relay through, or to come back to) at this loss or less.
    static let cleanPercent = 10
    /// After our relays change, our links message goes out again with this many liveness rounds: the
    /// other end follows what it says, and on a lossy link one copy may well be lost.
    static let linksRepeats = 4

    struct Report: Sendable {
        var at: Timestamp
        var heard: [String: Advertisement.Links.Link]
        /// Gateway → the relay the reporter sends it through.
        var relays: [String: String] = [:]
        /// Passed on by a relay (so sent while the reporter's direct link to us was down).
        var relayed = false
    }

    /// When each peer was last heard through its direct tunnel.
    var heardAt: [String: Timestamp] = [:]
    /// The peers whose answer to what we sent was missing for ``deadAfter`` at the last round.
    var unanswered: Set<String> = []
    /// Since when each direct link has been up without a break.
    var upSince: [String: Timestamp] = [:]
    /// When each direct link was last seen not clean (recent probe loss above ``cleanPercent``).
    var uncleanAt: [String: Timestamp] = [:]
    /// Each peer's last links message.
    var reports: [String: Report] = [:]
    /// Each peer's last links message as it came directly, to pass on to a gateway that starts relaying it
    /// through us (it may have been sent before that gateway chose us).
    var lastLinksMessages: [String: Advertisement.Links] = [:]
    /// What we last sent in ours (nil: nothing yet).
    var lastReported: [String: Advertisement.Links.Link]?
    /// Where each peer's datagrams come from as our engine sees them (read at housekeeping).
    var observedEndpoints: [String: Endpoint] = [:]
    /// For a peer with no configured endpoint that we cannot hear: where another gateway sees it, so our
    /// keepalives open a direct path to it (both sides send at once, through both NATs).
    public internal(set) var endpointHints: [String: Endpoint] = [:]
    /// Gateway → the gateway its subnets go through while its direct link is down.
    public internal(set) var relays: [String: String] = [:]
    /// Path changes per gateway (direct → relay, relay → direct, relay → relay), for the metric.
    public internal(set) var pathChanges: [String: UInt64] = [:]
    var nextCheckAt = Timestamp.zero
    /// Liveness rounds that still repeat our links message (``linksRepeats``).
    var repeatsLeft = 0
    /// A links message came since the last ``GatewayController/updateLinks(now:out:)``: the step runs it
    /// once at its end, however many came (a mesh of 64 sends 63 at a time).
    var updatePending = false

    public init() {}
}

extension GatewayController {
    /// Whether the driver should run a liveness round (``linkWatchedPeers``) and pass
    /// ``Input/linkActivity(_:)``.
    /// Up to ``LinkMonitor/earlyBy`` early, so the round rides on a step that runs anyway (an HA member
    /// steps every hello interval) instead of waking the loop on its own.
    public func linkCheckDue(now: Timestamp) -> Bool {
        now + LinkMonitor.earlyBy >= links.nextCheckAt && hasProbedPeers
    }

    /// The peers whose direct links are watched, with the key the engine knows each by.
    public var linkWatchedPeers: [(name: String, key: Key32)] {
        probedPeers.compactMap { name in peerKeys[name].map { (name, $0) } }
    }

    /// Whether `peer` answers through its direct tunnel: heard within ``LinkMonitor/silentAfter``, and
    /// nothing we sent it waited ``LinkMonitor/deadAfter`` for an answer at the last round.
    public func hearsDirectly(_ peer: String, now: Timestamp) -> Bool {
        guard let at = links.heardAt[peer], !links.unanswered.contains(peer) else { return false }
        return now.duration(since: at) <= LinkMonitor.silentAfter
    }

    /// The direct link to `peer` is up when we hear it and its own recent links message says it hears us:
    /// a link that works one way only is down for both ends.
    public func directLinkUp(_ peer: String, now: Timestamp) -> Bool {
        guard hearsDirectly(peer, now: now) else { return false }
        guard let report = freshReport(peer, now: now) else { return true }
        return report.heard.keys.contains(config.node.name)
    }

    /// Percent of the latest ``LinkMonitor/lossWindow`` probes to `peer` that went unanswered, once
    /// enough have settled; only probes sent since the direct link came up (those lost in an outage
    /// say nothing of the link once it is back).
    func recentLossPercent(_ peer: String, now: Timestamp) -> Int? {
        let (lost, settled) = probes.recentLoss(
            peer, count: LinkMonitor.lossWindow, since: links.upSince[peer], now: now)
        guard settled >= LinkMonitor.lossSettledMinimum else { return nil }
        return lost * 100 / settled
    }

    /// The direct link to `peer` is up but loses ``LinkMonitor/lossyPercent`` of its probes or more.
    func directLinkLossy(_ peer: String, now: Timestamp) -> Bool {
        directLinkUp(peer, now: now) && (recentLossPercent(peer, now: now) ?? 0) >= LinkMonitor.lossyPercent
    }

    /// The relay `gateway`'s subnets go through now, if any.
    public func relay(for gateway: String) -> String? { links.relays[gateway] }

    /// Through the relay in use towards `gateway`: our smoothed RTT to the relay plus the one it reports.
    public func relayedRTTMilliseconds(toward gateway: String) -> Double? {
        guard let relay = links.relays[gateway], let first = probes.smoothedRTTMilliseconds(relay),
            let second = links.reports[relay]?.heard[gateway]?.rtt
        else { return nil }
        return first + Double(second)
    }

    func freshReport(_ peer: String, now: Timestamp) -> LinkMonitor.Report? {
        guard let report = links.reports[peer], now.duration(since: report.at) <= config.timers.routeExpiry else {
            return nil
        }
        return report
    }

    /// A liveness round's result: what the engine knows of each peer's direct tunnel.
    mutating func observeLinks(_ activity: [String: DirectLinkActivity], now: Timestamp, out: inout Output) {
        links.nextCheckAt = now + LinkMonitor.checkInterval
        links.unanswered = []
        for (peer, link) in activity {
            if let age = link.sinceHeard, age <= LinkMonitor.silentAfter {
                links.heardAt[peer] = Timestamp(
                    nanoseconds: now.nanoseconds - min(now.nanoseconds, age.saturatingNanos))
            }
            if let waiting = link.unansweredFor, waiting > LinkMonitor.deadAfter { links.unanswered.insert(peer) }
        }
        if links.repeatsLeft > 0 {
            links.repeatsLeft -= 1
            sendLinks(out: &out)
        }
        updateLinks(now: now, out: &out)
    }

    mutating func receiveLinks(_ message: Advertisement.Links, relayed: Bool, now: Timestamp, out: inout Output) {
        let before = links.reports[message.sender]?.relays ?? [:]
        links.reports[message.sender] = LinkMonitor.Report(
            at: now, heard: message.heard, relays: message.relays, relayed: relayed)
        if !relayed {
            links.lastLinksMessages[message.sender] = message
            // A gateway that now routes others through us gets their latest links at once: the other end's
            // choice, which it mirrors, may have reached us before it chose us.
            let me = config.node.name
            for (origin, relay) in message.relays where relay == me && before[origin] != me {
                if let latest = links.lastLinksMessages[origin], let peer = config.peer(named: message.sender) {
                    passOn(.links(latest), from: origin, to: peer, now: now, out: &out)
                }
            }
        }
        links.updatePending = true
    }

    /// Our links message: every peer we hear directly, with the RTT of its overlay probes and, for a peer
    /// with no configured endpoint (behind NAT), where its datagrams come from.
    var linksHeard: [String: Advertisement.Links.Link] {
        let behindNAT = Set(config.peers.lazy.filter { $0.endpoint == nil }.map(\.name))
        return Dictionary(
            uniqueKeysWithValues: probedPeers.filter { hearsDirectly($0, now: now) }.map { peer in
                let rtt = probes.smoothedRTTMilliseconds(peer).map { UInt16(clamping: Int($0.rounded(.up))) }
                let told = behindNAT.contains(peer) ? links.observedEndpoints[peer] : nil
                let loss = recentLossPercent(peer, now: now).map { UInt8(clamping: $0) }
                return (peer, Advertisement.Links.Link(rtt: rtt, endpoint: told, lossPercent: loss))
            })
    }

    /// The endpoints our engine sees the peers at (``PeerSessions/endpoints``).
    mutating func observeEndpoints(_ endpoints: [String: String]) {
        links.observedEndpoints = endpoints.compactMapValues { Endpoint($0) }
    }

    /// Sends our links message (`heard`: ``linksHeard``, when the caller has it already).
    mutating func sendLinks(heard: [String: Advertisement.Links.Link]? = nil, out: inout Output) {
        let heard = heard ?? linksHeard
        links.lastReported = heard
        broadcast(
            .links(
                .init(sender: config.node.name, sequence: messageCounter.next(), heard: heard, relays: links.relays)),
            out: &out)
    }

    /// Brings link state, our links message and the relays up to date.
    mutating func updateLinks(now: Timestamp, out: inout Output) {
        links.updatePending = false
        let watched = probedPeers
        for peer in watched {
            if directLinkUp(peer, now: now) {
                if links.upSince[peer] == nil { links.upSince[peer] = now }
            } else {
                links.upSince.removeValue(forKey: peer)
            }
        }
        for peer in watched where (recentLossPercent(peer, now: now) ?? 0) > LinkMonitor.cleanPercent {
            links.uncleanAt[peer] = now
        }
        let heard = Set(watched.filter { hearsDirectly($0, now: now) })
        // On a change of who we hear, of an endpoint we tell (a NAT mapping moved) or of which links are
        // clean; RTTs and loss figures ride along.
        let current = linksHeard
        func unclean(_ links: [String: Advertisement.Links.Link]) -> Set<String> {
            Set(links.filter { Int($0.value.lossPercent ?? 0) > LinkMonitor.cleanPercent }.keys)
        }
        if links.lastReported.map({
            Set($0.keys) != heard || $0.mapValues(\.endpoint) != current.mapValues(\.endpoint)
                || unclean($0) != unclean(current)
        }) ?? true {
            sendLinks(heard: current, out: &out)
        }
        updateEndpointHints(now: now, out: &out)
        // Every peer, not only those our subnets go to: a gateway we have never heard (behind NAT, across
        // a partition since start) has no routes here until its relay passes its adverts on.
        // At rest (every link up and not lossy, nothing relayed) there is nothing to decide.
        if links.relays.isEmpty,
            watched.allSatisfy({ directLinkUp($0, now: now) && !directLinkLossy($0, now: now) })
        {
            return
        }
        var relays = links.relays.filter { watched.contains($0.key) }
        var mirrored: Set<String> = []
        var lossy: [String: Int] = [:]
        for gateway in watched.sorted() {
            let direct = directLinkUp(gateway, now: now)
            // Of the two ends of a pair, the lower name decides and the other mirrors its choice while its
            // links messages reach us: each end accepts the other's relayed packets only from the relay it
            // sends through itself, so the two must never differ for long (a hold running out at one end
            // first, a relay left over from an earlier fault at one end only).
            // While the link is up, only a message sent since it came back (one from before a partition says
            // nothing of now); while it is down, one passed on by a relay (sent during this outage).
            if config.node.name > gateway, let report = freshReport(gateway, now: now),
                direct ? links.upSince[gateway].map { report.at >= $0 } ?? false : report.relayed
            {
                let chosen = report.relays[config.node.name]
                // Down, "no relay" only means the decider has not chosen yet (or cannot): choose ourselves.
                if chosen.map({ relayUsable($0, for: gateway, now: now) }) ?? direct {
                    relays[gateway] = chosen
                    mirrored.insert(gateway)
                    continue
                }
            }
            if let current = relays[gateway] {
                // Back once up for the hold and clean for it, judged on probes sent since the link came up.
                if direct, let since = links.upSince[gateway], now.duration(since: since) >= LinkMonitor.recoveryHold,
                    links.uncleanAt[gateway].map({ now.duration(since: $0) >= LinkMonitor.recoveryHold }) ?? true,
                    recentLossPercent(gateway, now: now) != nil
                {
                    relays[gateway] = nil
                } else if !relayUsable(current, for: gateway, now: now) {
                    relays[gateway] = bestRelay(for: gateway, now: now, clean: direct)
                }
            } else if direct {
                // Up but much worse than a clean relay: the lower-named end moves (the other follows).
                if config.node.name < gateway, let loss = recentLossPercent(gateway, now: now),
                    loss >= LinkMonitor.lossyPercent, let relay = bestRelay(for: gateway, now: now, clean: true)
                {
                    relays[gateway] = relay
                    lossy[gateway] = loss
                }
            } else if links.heardAt[gateway] != nil || config.peer(named: gateway)?.endpoint == nil
                || now.duration(since: startedAt) >= LinkMonitor.startUpGrace
            {
                relays[gateway] = bestRelay(for: gateway, now: now)
            }
        }
        guard relays != links.relays else { return }
        for gateway in Set(relays.keys).union(links.relays.keys).sorted() where relays[gateway] != links.relays[gateway]
        {
            let reason: String
            if mirrored.contains(gateway) {
                reason = "following \(gateway)'s choice (of the two ends, the lower name decides)"
            } else if let loss = lossy[gateway] {
                reason =
                    "the direct link lost \(loss)% of the last \(LinkMonitor.lossWindow) probes; the relay's links are clean"
            } else if relays[gateway] == nil {
                reason =
                    directLinkUp(gateway, now: now)
                    ? "the direct link has been up and clean for \(Int(LinkMonitor.recoveryHold.seconds)) s"
                    : "no usable relay"
            } else if links.relays[gateway] == nil {
                reason =
                    "the direct link is down (no answer for \(Int(LinkMonitor.deadAfter.seconds * 1000)) ms, or the peer does not hear us)"
            } else {
                reason = "the relay lost its link"
            }
            notePathChange(gateway, from: links.relays[gateway], to: relays[gateway], reason: reason, out: &out)
        }
        links.relays = relays
        intentGeneration = Self.newGeneration()
        // Those we relay through must know, so that they pass the far gateway's adverts on to us; the other
        // end must know, to follow.
        sendLinks(out: &out)
        links.repeatsLeft = LinkMonitor.linksRepeats
    }

    /// Logs, audits (`path_changed`) and counts one change of the path to `gateway` (nil: direct).
    mutating func notePathChange(_ gateway: String, from: String?, to: String?, reason: String, out: inout Output) {
        let fromText = from.map { "via \($0)" } ?? "direct"
        let toText = to.map { "via \($0)" } ?? "direct"
        out.log(.warning, "path to \(gateway): \(fromText) -> \(toText) (\(reason))")
        out.audit(
            "path_changed",
            ["peer": .string(gateway), "from": .string(fromText), "to": .string(toText), "reason": .string(reason)])
        links.pathChanges[gateway, default: 0] += 1
    }

    /// For every peer without a configured endpoint that we cannot hear: the endpoint the relay we use
    /// for it (or else the lowest-named peer that hears it) tells, for the engine to send to.
    mutating func updateEndpointHints(now: Timestamp, out: inout Output) {
        var hints = links.endpointHints
        for peer in otherPeers where peer.endpoint == nil && !keyExpiryEnforced.contains(peer.name) {
            if hearsDirectly(peer.name, now: now) { continue }
            let tellers = ([links.relays[peer.name]].compactMap { $0 } + probedPeers.sorted()).filter {
                directLinkUp($0, now: now)
            }
            let told = tellers.compactMap { freshReport($0, now: now)?.heard[peer.name]?.endpoint }.first
            guard let told, told != hints[peer.name]
            else { continue }
            hints[peer.name] = told
            out.log(.info, "\(peer.name) has no configured endpoint: trying \(told), where another gateway sees it")
        }
        guard hints != links.endpointHints else { return }
        links.endpointHints = hints
        intentGeneration = Self.newGeneration()
    }

    /// A relay carries `gateway` while we have a direct link to it and it hears `gateway` directly.
    func relayUsable(_ relay: String, for gateway: String, now: Timestamp) -> Bool {
        guard directLinkUp(relay, now: now), let report = freshReport(relay, now: now) else { return false }
        return report.heard.keys.contains(gateway)
    }

    /// The cheapest usable relay towards `gateway`: the sum of both links' costs, each the worse RTT its
    /// two ends report, in ``LinkMonitor/costStepMilliseconds`` steps; ties go to the lowest name. Both
    /// ends of a pair see the same messages, so both choose the same relay and traffic stays symmetric.
    /// With `clean`, only a relay whose two links lose at most ``LinkMonitor/cleanPercent`` of their probes
    /// (ours to it as we measure, its to `gateway` as it reports).
    func bestRelay(for gateway: String, now: Timestamp, clean: Bool = false) -> String? {
        let me = config.node.name
        let target = freshReport(gateway, now: now)
        var best: (cost: Int, name: String)?
        for relay in probedPeers where relay != gateway && relayUsable(relay, for: gateway, now: now) {
            // The far end's own message, if it reaches us, must not contradict the relay's.
            if let target, !target.heard.keys.contains(relay) { continue }
            let report = freshReport(relay, now: now)
            if clean {
                guard let ours = recentLossPercent(relay, now: now), ours <= LinkMonitor.cleanPercent,
                    let theirs = report?.heard[gateway]?.lossPercent, Int(theirs) <= LinkMonitor.cleanPercent
                else { continue }
            }
            let first = Self.linkCost(links.lastReported?[relay]?.rtt, report?.heard[me]?.rtt)
            let second = Self.linkCost(report?.heard[gateway]?.rtt, target?.heard[relay]?.rtt)
            let cost = first + second
            if best.map({ (cost, relay) < ($0.cost, $0.name) }) ?? true { best = (cost, relay) }
        }
        return best?.name
    }

    static func linkCost(_ one: UInt16?, _ other: UInt16?) -> Int {
        let known = [one, other].compactMap { $0 }
        guard let worst = known.max() else { return LinkMonitor.unknownLinkCost }
        return (Int(worst) + LinkMonitor.costStepMilliseconds - 1) / LinkMonitor.costStepMilliseconds
    }

    // MARK: - Passing on adverts

    /// After an advert from `origin` was accepted: pass it on to every peer whose links message says it
    /// routes `origin` through us, so that `origin`'s routes outlive the partition.
    mutating func passOn(_ message: Advertisement, from origin: String, now: Timestamp, out: inout Output) {
        for peer in otherPeers where peer.name != origin {
            passOn(message, from: origin, to: peer, now: now, out: &out)
        }
    }

    /// Passes `origin`'s `message` on to `peer` if `peer` routes `origin` through us and cannot hear it.
    mutating func passOn(
        _ message: Advertisement, from origin: String, to peer: GatewayConfiguration.PeerSettings, now: Timestamp,
        out: inout Output
    ) {
        guard Advertisement.Relayed.mayCarry(message.kind), peer.name != origin, directLinkUp(origin, now: now),
            directLinkUp(peer.name, now: now), let report = freshReport(peer.name, now: now),
            report.relays[origin] == config.node.name, !report.heard.keys.contains(origin)
        else { return }
        let relayed = Advertisement.relayed(
            .init(sender: config.node.name, sequence: messageCounter.next(), message: message))
        out.datagrams.append(
            Datagram(
                channel: .control, bytes: relayed.encode(),
                peer: Endpoint(address: peer.overlayAddress, port: GatewayController.controlPort)))
    }

    /// Whether a message of `origin` passed on by `relay` counts: only while we cannot hear `origin`
    /// directly, and only from the relay we route `origin` through (or any, before we chose one).
    func acceptsRelayed(from relay: String, origin: String, now: Timestamp) -> Bool {
        guard origin != config.node.name, origin != relay, config.peer(named: origin) != nil,
            !hearsDirectly(origin, now: now)
        else { return false }
        return links.relays[origin].map { $0 == relay } ?? true
    }
}

extension Duration {
    fileprivate var saturatingNanos: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (high, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        return high &+ UInt64(attoseconds / 1_000_000_000)
    }
}
