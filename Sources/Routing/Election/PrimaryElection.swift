/// The primary election of one HA group, as seen by one member: a pure state machine that takes hellos,
/// LAN health, clock ticks and step-down requests, and answers with role changes.
///
/// ```
///            init(now:)
///                │
///                ▼
///           ┌─────────┐ hears a primary, or the start-up wait (one dead interval) ends
///           │starting │───────────────────────────────┐
///           └─────────┘                               ▼
///                            LAN down · stepDown · ┌─────────┐
///           ┌─────────┐  a claim higher in the     │ standby │
///           │ primary │───── claim order ─────────►│         │
///           │         │◄─────────────────────────── └─────────┘
///           └─────────┘  role vacant and this member is the best candidate,
///                        or preemption after `preemptDelay`, or the vacancy timeout
/// ```
///
/// ## Rules
/// - **Liveness.** A member is live while its last hello is younger than `deadInterval`. Hellos are
///   ignored unless their sequence is above the last one seen from a live member (a member that went
///   silent may restart its counter).
/// - **Eligibility.** Only live members with a healthy LAN may hold the role. A primary that loses its
///   LAN steps down at once (``Reason/lanDown``) and goes on hold like a planned step-down, so a LAN
///   that comes back quickly cannot make it take the role back (no flapping).
/// - **Start-up.** A new instance listens for one dead interval before it may claim, so members that
///   start together elect by rank instead of racing. It ends early when it hears a primary.
/// - **Vacancy.** With no live primary, the best eligible candidate claims with `term = highest known + 1`.
///   Candidates rank by: not on hold, then higher priority, then lower name (``CandidateKey``). A
///   member on hold never claims while another eligible member is live. If the role stays vacant for
///   ``Configuration/vacancyTimeout`` the best candidate ignoring holds claims, so the group cannot
///   stall.
/// - **Non-preemptive by default.** A standby never takes the role from a live primary unless
///   `preempt` is on, it outranks the primary and every other eligible member by (priority, name), and
///   it has stayed so for `preemptDelay` continuously; it then claims with a higher term.
/// - **Two primaries.** A primary that hears another primary higher in the claim order (term, then
///   priority, then lower name; see ``RoleReport``) yields at once, so exactly one remains.
/// - **Planned step-down and hold.** ``stepDown(now:)`` gives the role up and puts this member on hold
///   for `stepDownHold`: it ranks below every member not on hold and does not preempt, so it does not
///   take the role back. The standby that hears the `standby` claim takes over at once, within one
///   hello interval. A member's hold ends early when it sees another primary step down (so a drill can
///   hand the role back).
///
/// The daemon sends ``makeHello(sequence:now:)`` to every other member each hello interval and at once
/// after any returned ``RoleChange``, and calls ``tick(now:)`` at ``nextDeadline(after:)`` (or every
/// hello interval). The zero-configuration defaults match `GatewayConfig`'s. Not safe for concurrent use.
public struct PrimaryElection: Sendable {
    /// A member's role in its group.
    public enum Role: UInt8, Sendable, Hashable, CustomStringConvertible {
        /// Not holding the role: no virtual IP, not the group's next hop.
        case standby = 0
        /// Holds the LAN virtual IP and receives the group's traffic.
        case primary = 1

        public var description: String {
            switch self {
            case .standby: "standby"
            case .primary: "primary"
            }
        }
    }

    /// The member's settings.
    public struct Configuration: Sendable, Hashable {
        /// This member's gateway name; must not change for the life of the instance.
        public var name: String
        /// The HA group; must not change for the life of the instance.
        public var group: String
        /// The group's declared members (the shared peer list's `group:` keys), this member included.
        /// Hellos from any other sender are ignored, so a gateway outside the group has no vote in it;
        /// a member removed on reload stops counting at once.
        public var members: Set<String>
        /// 1...255, higher is preferred.
        public var priority: UInt8
        /// Whether this member takes the role from a lower-ranked live primary.
        public var preempt: Bool
        /// How long this member must be continuously eligible before it preempts.
        public var preemptDelay: Duration
        /// A member silent this long is dead. Also the start-up wait.
        public var deadInterval: Duration
        /// How long a member that stepped down stays on hold.
        public var stepDownHold: Duration
        /// How often members send hellos: the unit in which missed hellos are counted (loss-aware detection).
        public var helloInterval: Duration

        public init(
            name: String, group: String, members: Set<String>, priority: UInt8, preempt: Bool = false,
            preemptDelay: Duration = .zero, deadInterval: Duration = .milliseconds(400),
            stepDownHold: Duration = .seconds(10), helloInterval: Duration? = nil
        ) {
            self.helloInterval = helloInterval ?? deadInterval / 4
            self.name = name
            self.group = group
            self.members = members
            self.priority = priority
            self.preempt = preempt
            self.preemptDelay = preemptDelay
            self.deadInterval = deadInterval
            self.stepDownHold = stepDownHold
        }

        /// How long the role may stay vacant before holds are ignored: twice the dead interval.
        public var vacancyTimeout: Duration { deadInterval * 2 }
    }

    /// Why a role changed; ``description`` is the sentence for the log and the audit trail.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// Became primary: no member held the role (start-up) and this one ranks first.
        case noPrimary
        /// Became primary: the primary was silent for the given time.
        case primarySilent(String, Duration)
        /// Became primary: the primary stepped down (a planned drill).
        case primarySteppedDown(String)
        /// Became primary: the primary lost its LAN.
        case primaryLostLAN(String)
        /// Became primary: the primary claimed standby for another reason (for example a restart).
        case primaryRelinquished(String)
        /// Became primary: the role stayed vacant this long, so holds were ignored.
        case vacancyTimeout(Duration)
        /// Became primary: preempted the named lower-ranked primary after the delay.
        case preempted(String, Duration)
        /// Became standby: this member's LAN is down.
        case lanDown
        /// Became standby: planned step-down.
        case steppedDown
        /// Became standby: the named member claims primary higher in the claim order.
        case yielded(to: String, theirTerm: UInt64, ourTerm: UInt64)

        public var description: String {
            switch self {
            case .noPrimary: "no primary in the group: highest-ranked eligible member takes the role"
            case .primarySilent(let name, let silence): "peer \(name) silent for \(silence.compactDescription)"
            case .primarySteppedDown(let name): "primary \(name) stepped down"
            case .primaryLostLAN(let name): "primary \(name) LAN down"
            case .primaryRelinquished(let name): "primary \(name) gave up the role"
            case .vacancyTimeout(let time): "no primary for \(time.compactDescription): next in line takes the role"
            case .preempted(let name, let delay):
                "higher priority preempted after delay: took the role from \(name) after \(delay.compactDescription)"
            case .lanDown: "LAN down"
            case .steppedDown: "stepped down"
            case .yielded(let name, let theirTerm, let ourTerm):
                theirTerm > ourTerm
                    ? "partition healed: lower term yields to \(name) (term \(theirTerm) > \(ourTerm))"
                    : "two primaries in term \(ourTerm): yields to \(name) by priority and name"
            }
        }
    }

    /// One role change, for the daemon to act on (take or release the virtual IP, send a hello and a
    /// triggered routes message) and to log.
    public struct RoleChange: Sendable, Hashable, CustomStringConvertible {
        public var from: Role
        public var to: Role
        /// The term after the change.
        public var term: UInt64
        public var reason: Reason
        public var at: Timestamp

        public var description: String { "\(from) → \(to) (term \(term)): \(reason)" }
    }

    /// The result of ``stepDown(now:)``.
    public enum StepDownOutcome: Sendable, Hashable {
        /// The member gave up the role and is on hold.
        case steppedDown(RoleChange)
        /// Nothing to do: the member is not primary.
        case notPrimary
        /// Refused: no other live member with a healthy LAN could take over.
        case noEligibleStandby
    }

    /// What this member knows of another member, for status output.
    public struct MemberStatus: Sendable, Hashable {
        public var name: String
        public var priority: UInt8
        public var role: Role
        public var term: UInt64
        public var lanHealthy: Bool
        public var held: Bool
        /// When its last hello arrived; `nil` for the local member.
        public var lastHeard: Timestamp?
        /// Whether it is live (always true for the local member).
        public var isLive: Bool
    }

    private enum Phase: Sendable, Hashable {
        case starting(until: Timestamp)
        case standby
        case primary
    }

    private struct Peer: Sendable, Hashable {
        var priority: UInt8
        var role: Role
        var term: UInt64
        var lanHealthy: Bool
        var held: Bool
        var sequence: UInt64
        var lastHeard: Timestamp
        /// The share of this member's hellos that did not arrive on time, over about the last
        /// ``lossWindow`` hello intervals (a late hello counts as the ones it replaces).
        var lateShare: Double = 0
    }

    // MARK: Loss-aware detection
    //
    // A fixed dead interval of 4 hello intervals declares a member dead after 4 hellos in a row go missing:
    // at 20% loss that happens about every 30 s, and the role flaps. Instead each member's hellos are
    // watched: the share that arrived late or never (``Peer/lateShare``) sets how many in a row must be
    // missing before the member counts as dead, so that a false verdict stays below one in
    // ``falseDetectionTarget`` hellos — never fewer than the configured dead interval, never more than
    // ``maximumDetectionFactor`` times it (3 × 400 ms by default). A member that went silent and came back carries the silence
    // in its share for a while: that damps a flapping member.

    /// The hello intervals over which on-time hellos average the late share down.
    static let lossWindow = 100.0
    /// The hello intervals over which a miss weighs: a sudden loss is noticed within a few hellos.
    static let onsetWindow = 10.0
    /// The probability of a false "dead" verdict per hello that detection aims below.
    static let falseDetectionTarget = 1e-5
    /// Detection never takes longer than this many dead intervals.
    static let maximumDetectionFactor: Int64 = 3

    /// How long `peer` may be silent before it counts as dead.
    private func detectionTime(_ peer: Peer) -> Duration {
        let base = configuration.deadInterval
        guard peer.lateShare > 0.001, configuration.helloInterval > .zero else { return base }
        let share = min(peer.lateShare, 0.99)
        var misses: Int64 = 1
        var chance = share
        while chance > Self.falseDetectionTarget && misses < 1000 {
            chance *= share
            misses += 1
        }
        let needed = configuration.helloInterval * misses
        return min(max(base, needed), base * Self.maximumDetectionFactor)
    }

    /// The late share after a hello that arrived `gap` after the previous one.
    private func updatedLateShare(_ share: Double, gap: Duration) -> Double {
        let interval = configuration.helloInterval
        guard interval > .zero else { return share }
        // Hello intervals the gap spans: 1 when on time; each extra one is a hello lost or late.
        // Whole intervals, rounded to nearest, in integer nanoseconds (no libm in this module).
        let gapNs = gap.components.seconds * 1_000_000_000 + gap.components.attoseconds / 1_000_000_000
        let intervalNs = interval.components.seconds * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000
        let spanned = Double(max(1, (gapNs + intervalNs / 2) / intervalNs))
        let missed = spanned - 1
        // Quick to suspect, slow to forgive: misses weigh over a short window, so a sudden onset of loss
        // lengthens detection within a few hellos; on-time hellos decay the share over a long one.
        let window = missed > 0 ? Self.onsetWindow : Self.lossWindow
        if spanned >= window { return missed / spanned }
        return share * (1 - spanned / window) + missed / window
    }

    /// How long each member may be silent before it counts as dead, by name (for status).
    public var detectionTimes: [String: Duration] { peers.mapValues(detectionTime) }

    /// The settings. `priority`, `preempt`, the delays and intervals may change (on reload); they take
    /// effect at the next input.
    public var configuration: Configuration
    private var phase: Phase
    /// The primary's claim term while primary; otherwise the highest term known.
    public private(set) var term: UInt64 = 0
    /// The LAN health last reported through ``lanHealth(_:now:)``.
    public private(set) var lanHealthy: Bool
    private var heldUntil: Timestamp?
    private var peers: [String: Peer] = [:]
    private var lastKnownPrimary: String?
    private var vacancySince: Timestamp?
    private var preemptEligibleSince: Timestamp?

    /// Starts as a standby in its start-up wait, which lasts one dead interval from `now`.
    public init(configuration: Configuration, now: Timestamp, lanHealthy: Bool = true) {
        self.configuration = configuration
        self.phase = .starting(until: now + configuration.deadInterval)
        self.lanHealthy = lanHealthy
    }

    /// This member's current role.
    public var role: Role {
        if case .primary = phase { .primary } else { .standby }
    }

    /// Whether the start-up wait is still running.
    public var isStarting: Bool {
        if case .starting = phase { true } else { false }
    }

    /// Whether this member stepped down and is still on hold at `now`.
    public func isHeld(now: Timestamp) -> Bool {
        heldUntil.map { now < $0 } ?? false
    }

    // MARK: - Inputs

    /// Call for every hello that passed the origin check. Hellos of other groups, from this member's own
    /// name or a gateway that is not a declared member, with a term above ``Advertisement/maximumTerm``, or older than the last one from a live
    /// member are ignored.
    public mutating func receivedHello(_ hello: Advertisement.Hello, now: Timestamp) -> RoleChange? {
        guard hello.group == configuration.group, hello.sender != configuration.name,
            configuration.members.contains(hello.sender), hello.term <= Advertisement.maximumTerm
        else { return nil }
        if let known = peers[hello.sender] {
            if isLive(known, now: now) && hello.sequence <= known.sequence { return nil }
            // Another primary stepped down after we did: our hold must not block the hand-back.
            if known.role == .primary && hello.role == .standby && hello.held { heldUntil = nil }
        }
        var share = 0.0
        if let known = peers[hello.sender] {
            share = updatedLateShare(known.lateShare, gap: now.duration(since: known.lastHeard))
        }
        peers[hello.sender] = Peer(
            priority: hello.priority, role: hello.role, term: hello.term, lanHealthy: hello.lanHealthy,
            held: hello.held, sequence: hello.sequence, lastHeard: now, lateShare: share)
        return evaluate(now: now)
    }

    /// Call when the LAN check changes (or on every check). A primary whose LAN goes down becomes
    /// standby immediately. Debouncing the check itself is the caller's job.
    public mutating func lanHealth(_ healthy: Bool, now: Timestamp) -> RoleChange? {
        if healthy != lanHealthy { preemptEligibleSince = nil }
        lanHealthy = healthy
        if !healthy, case .primary = phase {
            // On hold like a step-down: if the LAN comes back before this member hears the standby's
            // claim, it must not see the role as vacant and take it back.
            heldUntil = now + configuration.stepDownHold
            lastKnownPrimary = configuration.name
            return becomeStandby(reason: .lanDown, now: now)
        }
        return evaluate(now: now)
    }

    /// Call at ``nextDeadline(after:)`` (calling more often is harmless): notices silent members, the end of
    /// the start-up wait, preemption and vacancy timeouts.
    public mutating func tick(now: Timestamp) -> RoleChange? {
        evaluate(now: now)
    }

    /// A planned step-down (a failover drill): gives up the role and goes on hold for `stepDownHold`.
    /// Refused when no other live member with a healthy LAN could take over.
    public mutating func stepDown(now: Timestamp) -> StepDownOutcome {
        guard case .primary = phase else { return .notPrimary }
        guard peers.values.contains(where: { isLive($0, now: now) && $0.lanHealthy }) else {
            return .noEligibleStandby
        }
        heldUntil = now + configuration.stepDownHold
        lastKnownPrimary = configuration.name
        return .steppedDown(becomeStandby(reason: .steppedDown, now: now))
    }

    // MARK: - Outputs

    /// The hello to send now. `sequence` comes from the daemon's per-gateway message counter.
    public func makeHello(sequence: UInt64, now: Timestamp) -> Advertisement.Hello {
        Advertisement.Hello(
            sender: configuration.name, sequence: sequence, group: configuration.group,
            priority: configuration.priority, role: role, term: term, lanHealthy: lanHealthy,
            held: isHeld(now: now))
    }

    /// The earliest time after `now` at which ``tick(now:)`` could change something, or `nil` if only a
    /// new input can. Deadlines already passed are left out, so a daemon sleeping until the result
    /// never spins.
    public func nextDeadline(after now: Timestamp) -> Timestamp? {
        var deadlines: [Timestamp] = []
        if case .starting(let until) = phase { deadlines.append(until) }
        for peer in peers.values { deadlines.append(peer.lastHeard + detectionTime(peer)) }
        if let heldUntil { deadlines.append(heldUntil) }
        if let preemptEligibleSince { deadlines.append(preemptEligibleSince + configuration.preemptDelay) }
        if let vacancySince { deadlines.append(vacancySince + configuration.vacancyTimeout) }
        return deadlines.filter { $0 > now }.min()
    }

    /// The group's primary as this member sees it: the claim highest in the claim order among this
    /// member (if primary) and the live members claiming primary; `nil` when the role is vacant.
    public func currentPrimary(now: Timestamp) -> RoleReport? {
        reports(now: now).filter { $0.role == .primary }.max { $1.outranks($0) }
    }

    /// This member's own report (sequence `UInt64.max`) and the latest report of every live member, for
    /// ``PrimaryView`` and ``DesiredRoutes``.
    public func reports(now: Timestamp) -> [RoleReport] {
        var result = [
            RoleReport(
                gateway: configuration.name, group: configuration.group, role: role, term: term,
                priority: configuration.priority, sequence: .max)
        ]
        for (name, peer) in peers.sorted(by: { $0.key < $1.key }) where isLive(peer, now: now) {
            result.append(
                RoleReport(
                    gateway: name, group: configuration.group, role: peer.role, term: peer.term,
                    priority: peer.priority, sequence: peer.sequence))
        }
        return result
    }

    /// Every member this instance knows, itself first, then by name.
    public func members(now: Timestamp) -> [MemberStatus] {
        var result = [
            MemberStatus(
                name: configuration.name, priority: configuration.priority, role: role, term: term,
                lanHealthy: lanHealthy, held: isHeld(now: now), lastHeard: nil, isLive: true)
        ]
        for (name, peer) in peers.sorted(by: { $0.key < $1.key }) {
            result.append(
                MemberStatus(
                    name: name, priority: peer.priority, role: peer.role, term: peer.term,
                    lanHealthy: peer.lanHealthy, held: peer.held, lastHeard: peer.lastHeard,
                    isLive: isLive(peer, now: now)))
        }
        return result
    }

    // MARK: - The decision

    private func isLive(_ peer: Peer, now: Timestamp) -> Bool {
        now.duration(since: peer.lastHeard) < detectionTime(peer)
    }

    private var ownClaimKey: ClaimKey {
        ClaimKey(term: term, priority: configuration.priority, name: configuration.name)
    }

    private mutating func evaluate(now: Timestamp) -> RoleChange? {
        if let until = heldUntil, now >= until { heldUntil = nil }
        if peers.keys.contains(where: { !configuration.members.contains($0) }) {
            peers = peers.filter { configuration.members.contains($0.key) }
        }
        let live = peers.filter { isLive($0.value, now: now) }
        let highestKnownTerm = peers.values.reduce(term) { max($0, $1.term) }
        let rival = live.filter { $0.value.role == .primary }
            .max {
                ClaimKey(term: $0.value.term, priority: $0.value.priority, name: $0.key)
                    < ClaimKey(term: $1.value.term, priority: $1.value.priority, name: $1.key)
            }

        switch phase {
        case .primary:
            if !lanHealthy {
                heldUntil = now + configuration.stepDownHold
                lastKnownPrimary = configuration.name
                return becomeStandby(reason: .lanDown, now: now)
            }
            guard let rival,
                ClaimKey(term: rival.value.term, priority: rival.value.priority, name: rival.key) > ownClaimKey
            else { return nil }
            let ourTerm = term
            term = max(term, rival.value.term)
            lastKnownPrimary = rival.key
            return becomeStandby(
                reason: .yielded(to: rival.key, theirTerm: rival.value.term, ourTerm: ourTerm), now: now)
        case .starting(let until):
            term = highestKnownTerm
            if rival == nil && now < until { return nil }
            phase = .standby
        case .standby:
            break
        }

        term = highestKnownTerm
        if let rival {
            vacancySince = nil
            lastKnownPrimary = rival.key
            return considerPreempting(rival: rival.key, rivalPeer: rival.value, live: live, now: now)
        }
        preemptEligibleSince = nil
        guard lanHealthy else {
            vacancySince = nil
            return nil
        }
        let since = vacancySince ?? now
        vacancySince = since

        let held = heldUntil != nil
        let eligible = live.filter { $0.value.lanHealthy }
        let ownKey = CandidateKey(held: held, priority: configuration.priority, name: configuration.name)
        let bestOther = eligible.map { CandidateKey(held: $0.value.held, priority: $0.value.priority, name: $0.key) }
            .max()
        if !held, bestOther.map({ $0 < ownKey }) ?? true {
            return becomePrimary(
                term: Self.claimTerm(after: highestKnownTerm), reason: vacancyReason(now: now), now: now)
        }
        if held && eligible.isEmpty {
            return becomePrimary(
                term: Self.claimTerm(after: highestKnownTerm), reason: vacancyReason(now: now), now: now)
        }
        let vacant = now.duration(since: since)
        guard vacant >= configuration.vacancyTimeout else { return nil }
        // The best candidate did not claim in time: rank by priority and name alone, ignoring holds.
        let bestIgnoringHolds = eligible.map { CandidateKey(held: false, priority: $0.value.priority, name: $0.key) }
            .max()
        let ownIgnoringHold = CandidateKey(held: false, priority: configuration.priority, name: configuration.name)
        guard bestIgnoringHolds.map({ $0 < ownIgnoringHold }) ?? true else { return nil }
        return becomePrimary(term: Self.claimTerm(after: highestKnownTerm), reason: .vacancyTimeout(vacant), now: now)
    }

    private mutating func considerPreempting(
        rival: String, rivalPeer: Peer, live: [String: Peer], now: Timestamp
    ) -> RoleChange? {
        let ownKey = CandidateKey(held: false, priority: configuration.priority, name: configuration.name)
        let outranksPrimary = CandidateKey(held: false, priority: rivalPeer.priority, name: rival) < ownKey
        let outranksOthers = live.allSatisfy { name, peer in
            !peer.lanHealthy || peer.held || CandidateKey(held: false, priority: peer.priority, name: name) < ownKey
        }
        guard configuration.preempt, lanHealthy, heldUntil == nil, outranksPrimary, outranksOthers else {
            preemptEligibleSince = nil
            return nil
        }
        let since = preemptEligibleSince ?? now
        preemptEligibleSince = since
        guard now.duration(since: since) >= configuration.preemptDelay else { return nil }
        let highestKnownTerm = peers.values.reduce(term) { max($0, $1.term) }
        return becomePrimary(
            term: Self.claimTerm(after: highestKnownTerm), reason: .preempted(rival, configuration.preemptDelay),
            now: now)
    }

    /// The term of a new claim: one above `highest`, saturating at ``Advertisement/maximumTerm`` so the
    /// claim stays encodable. At the ceiling, claims of equal term are still totally ordered by priority
    /// and name, so the group keeps exactly one primary.
    static func claimTerm(after highest: UInt64) -> UInt64 {
        min(highest, Advertisement.maximumTerm - 1) + 1
    }

    private func vacancyReason(now: Timestamp) -> Reason {
        guard let name = lastKnownPrimary, name != configuration.name, let peer = peers[name] else {
            return .noPrimary
        }
        if !isLive(peer, now: now) { return .primarySilent(name, now.duration(since: peer.lastHeard)) }
        if !peer.lanHealthy { return .primaryLostLAN(name) }
        if peer.held { return .primarySteppedDown(name) }
        return .primaryRelinquished(name)
    }

    private mutating func becomePrimary(term newTerm: UInt64, reason: Reason, now: Timestamp) -> RoleChange {
        let from = role
        phase = .primary
        term = newTerm
        heldUntil = nil
        vacancySince = nil
        preemptEligibleSince = nil
        lastKnownPrimary = configuration.name
        return RoleChange(from: from, to: .primary, term: term, reason: reason, at: now)
    }

    private mutating func becomeStandby(reason: Reason, now: Timestamp) -> RoleChange {
        let from = role
        phase = .standby
        vacancySince = nil
        preemptEligibleSince = nil
        return RoleChange(from: from, to: .standby, term: term, reason: reason, at: now)
    }
}
