public import NetworkTypes

/// The prefixes learned from other gateways' routes messages, one entry per gateway, each expiring when
/// the gateway stays silent for ``expiry``.
///
/// A routes message replaces the sender's previous entry entirely (it carries the full list), so a
/// prefix missing from it is removed at once. A withdraw removes the entry; a silent gateway's entry is
/// removed by ``expire(now:)``. Messages whose sequence is not above the last one accepted from the same
/// gateway (within ``expiry``) are ignored, so a reordered old message cannot resurrect routes. The
/// ``policy`` filters every prefix before it is stored.
///
/// The daemon may also feed its own routes messages (under its own name): the table then reports
/// conflicts between local and learned prefixes, and ``DesiredRoutes`` maps the local prefixes to the
/// local gateway, which the daemon skips when programming the kernel.
///
/// Value type; not safe for concurrent mutation.
public struct RouteTable: Sendable {
    /// One gateway's current advertisement.
    public struct Entry: Sendable, Hashable {
        /// The advertising gateway.
        public var gateway: String
        /// The sequence of the routes message the entry came from.
        public var sequence: UInt64
        /// The accepted routes, in message order.
        public var routes: [Advertisement.Route]
        /// The gateway's group records (its role and its view of each group's primary).
        public var groups: [Advertisement.GroupStatus]
        /// When the message arrived.
        public var lastHeard: Timestamp
        /// When the entry expires unless refreshed: `lastHeard + expiry`.
        public var expiresAt: Timestamp
        /// Prefixes the policy refused, so each refusal is reported once.
        public internal(set) var rejected: Set<IPPrefix>
        /// Whether the last message exceeded the route limit, so it is reported once.
        var overLimit = false
    }

    private struct SequenceMemory: Sendable {
        var sequence: UInt64
        var until: Timestamp
    }

    /// Newly refused prefixes named one by one per message; the rest are counted (``RouteChange/moreRejected(gateway:count:)``).
    public static let maximumRejectionsReported = 8

    /// How long an entry lives without a refresh.
    public var expiry: Duration
    /// The filter applied to learned prefixes; a change applies from each gateway's next message.
    public var policy: RoutePolicy
    /// The current entries by gateway name.
    public private(set) var entries: [String: Entry] = [:]
    /// Grows whenever an entry's routes (or refusals) change, or an entry comes or goes — not when an
    /// unchanged advert only refreshes its expiry. Readers recompute what depends on the routes only then.
    public private(set) var routesVersion: UInt64 = 0
    private var sequences: [String: SequenceMemory] = [:]
    private var conflictsByPrefix: [IPPrefix: RouteConflict] = [:]

    public init(expiry: Duration = .seconds(15), policy: RoutePolicy = RoutePolicy()) {
        self.expiry = expiry
        self.policy = policy
    }

    // MARK: - Inputs

    /// Applies a routes or withdraw message from `gateway` (the peer the datagram came from, after the
    /// origin check). Hellos are not the table's business and yield no changes.
    public mutating func apply(_ message: Advertisement, from gateway: String, now: Timestamp) -> [RouteChange] {
        switch message {
        case .hello, .policy, .probeTargets, .links: []
        case .relayed(let relayed): apply(relayed.message, from: gateway, now: now)
        case .routes(let routes): update(from: gateway, routes: routes, now: now)
        case .withdraw(let withdraw): self.withdraw(from: gateway, message: withdraw, now: now)
        }
    }

    /// Replaces `gateway`'s entry with the routes message, refreshing its expiry.
    public mutating func update(from gateway: String, routes: Advertisement.Routes, now: Timestamp) -> [RouteChange] {
        guard routes.sender == gateway else { return [.senderMismatch(gateway: gateway, claimed: routes.sender)] }
        guard acceptSequence(routes.sequence, from: gateway, now: now) else {
            return [.staleIgnored(gateway: gateway, sequence: routes.sequence)]
        }
        let old = entries[gateway]
        var changes: [RouteChange] = []
        var accepted: [Advertisement.Route] = []
        var rejected: Set<IPPrefix> = []
        var unreported = 0
        for route in routes.routes {
            if let reason = policy.violation(for: route.prefix, from: gateway, group: route.group) {
                rejected.insert(route.prefix)
                guard !(old?.rejected.contains(route.prefix) ?? false) else { continue }
                // A flood of refused prefixes must not become a flood of log lines: a few are named, the
                // rest counted in one change.
                if changes.count < Self.maximumRejectionsReported {
                    changes.append(.rejected(route.prefix, gateway: gateway, reason: reason))
                } else {
                    unreported += 1
                }
            } else {
                accepted.append(route)
            }
        }
        if unreported > 0 { changes.append(.moreRejected(gateway: gateway, count: unreported)) }
        // The limit applies to what passed the policy, in message order, so the result is deterministic.
        let overLimit = accepted.count > policy.maxRoutesPerGateway
        if overLimit {
            if !(old?.overLimit ?? false) {
                changes.append(
                    .limitExceeded(gateway: gateway, advertised: accepted.count, limit: policy.maxRoutesPerGateway))
            }
            accepted.removeSubrange(policy.maxRoutesPerGateway...)
        }
        // A group record counts only from a declared member: otherwise any peer could claim a group's role.
        let groups = routes.groups.filter { policy.isMember(gateway, of: $0.group) }
        let before = Dictionary(
            old?.routes.map { ($0.prefix, $0.group) } ?? [], uniquingKeysWith: { first, _ in first })
        let after = Dictionary(accepted.map { ($0.prefix, $0.group) }, uniquingKeysWith: { first, _ in first })
        for prefix in before.keys.sorted() where after[prefix] == nil {
            changes.append(.removed(prefix, gateway: gateway, reason: .notAdvertised))
        }
        for prefix in after.keys.sorted() {
            let group = after[prefix] ?? nil
            if let previous = before[prefix] {
                if previous != group { changes.append(.regrouped(prefix, gateway: gateway, from: previous, to: group)) }
            } else {
                changes.append(.added(prefix, gateway: gateway, group: group))
            }
        }
        if old == nil || old?.routes != accepted || old?.rejected != rejected || old?.overLimit != overLimit {
            routesVersion &+= 1
        }
        entries[gateway] = Entry(
            gateway: gateway, sequence: routes.sequence, routes: accepted, groups: groups, lastHeard: now,
            expiresAt: now + expiry, rejected: rejected, overLimit: overLimit)
        return changes + refreshConflicts()
    }

    /// Applies a withdraw message from `gateway`: removes its entry unless the message is stale.
    public mutating func withdraw(from gateway: String, message: Advertisement.Withdraw, now: Timestamp)
        -> [RouteChange]
    {
        guard message.sender == gateway else { return [.senderMismatch(gateway: gateway, claimed: message.sender)] }
        guard acceptSequence(message.sequence, from: gateway, now: now) else {
            return [.staleIgnored(gateway: gateway, sequence: message.sequence)]
        }
        return withdraw(gateway: gateway)
    }

    /// Removes `gateway`'s entry now (a withdraw, or the peer was removed from the configuration).
    public mutating func withdraw(gateway: String) -> [RouteChange] {
        guard let entry = entries.removeValue(forKey: gateway) else { return [] }
        routesVersion &+= 1
        let removed = entry.routes.map(\.prefix).sorted().map {
            RouteChange.removed($0, gateway: gateway, reason: .withdrawn)
        }
        return removed + refreshConflicts()
    }

    /// Removes every entry not refreshed within ``expiry`` of `now`. Call at ``nextExpiry``.
    public mutating func expire(now: Timestamp) -> [RouteChange] {
        var changes: [RouteChange] = []
        for gateway in entries.keys.sorted() {
            guard let entry = entries[gateway], entry.expiresAt <= now else { continue }
            entries[gateway] = nil
            routesVersion &+= 1
            changes += entry.routes.map(\.prefix).sorted().map {
                RouteChange.removed($0, gateway: gateway, reason: .expired)
            }
        }
        sequences = sequences.filter { $0.value.until > now }
        return changes.isEmpty ? [] : changes + refreshConflicts()
    }

    // MARK: - Queries

    /// When the next entry expires, or `nil` when the table is empty.
    public var nextExpiry: Timestamp? {
        entries.values.map(\.expiresAt).min()
    }

    /// Current conflicts, sorted by prefix.
    public var conflicts: [RouteConflict] {
        conflictsByPrefix.values.sorted { $0.prefix < $1.prefix }
    }

    /// Every learned prefix, sorted.
    public var prefixes: [IPPrefix] {
        Set(entries.values.flatMap { $0.routes.map(\.prefix) }).sorted()
    }

    /// The gateways advertising `prefix` with the group each uses, sorted by gateway name. Entries that
    /// expired before `now` are left out when `now` is given.
    public func advertisers(of prefix: IPPrefix, now: Timestamp? = nil) -> [(gateway: String, group: String?)] {
        liveEntries(now: now).compactMap { entry in
            entry.routes.first { $0.prefix == prefix }.map { (gateway: entry.gateway, group: $0.group) }
        }
    }

    /// The entries not yet expired at `now` (all entries when `now` is `nil`), sorted by gateway name.
    public func liveEntries(now: Timestamp?) -> [Entry] {
        entries.values.filter { entry in now.map { entry.expiresAt > $0 } ?? true }.sorted { $0.gateway < $1.gateway }
    }

    /// The role reports carried by the group records of the live entries: a gateway claims primary of a
    /// group when its record names itself as the primary.
    public func roleReports(now: Timestamp) -> [RoleReport] {
        liveEntries(now: now).flatMap { entry in
            entry.groups.map { status in
                RoleReport(
                    gateway: entry.gateway, group: status.group,
                    role: status.primary == entry.gateway ? .primary : .standby, term: status.term,
                    priority: status.priority, sequence: entry.sequence)
            }
        }
    }

    // MARK: - Internals

    private mutating func acceptSequence(_ sequence: UInt64, from gateway: String, now: Timestamp) -> Bool {
        if let memory = sequences[gateway], now < memory.until, sequence <= memory.sequence { return false }
        sequences[gateway] = SequenceMemory(sequence: sequence, until: now + expiry)
        return true
    }

    private mutating func refreshConflicts() -> [RouteChange] {
        let current = Self.findConflicts(in: Array(entries.values))
        var changes: [RouteChange] = []
        for prefix in conflictsByPrefix.keys.sorted() where current[prefix] == nil {
            changes.append(.conflictResolved(prefix))
        }
        for prefix in current.keys.sorted() where conflictsByPrefix[prefix] != current[prefix] {
            if let conflict = current[prefix] { changes.append(.conflictDetected(conflict)) }
        }
        conflictsByPrefix = current
        return changes
    }

    /// Conflicts among `entries`: a prefix advertised by more than one unit, where a unit is one HA
    /// group (all gateways advertising the prefix in that group) or one gateway without a group.
    static func findConflicts(in entries: [Entry]) -> [IPPrefix: RouteConflict] {
        var advertisers: [IPPrefix: [(gateway: String, group: String?)]] = [:]
        for entry in entries {
            for route in entry.routes { advertisers[route.prefix, default: []].append((entry.gateway, route.group)) }
        }
        var result: [IPPrefix: RouteConflict] = [:]
        for (prefix, list) in advertisers {
            let units = Set(list.map { unitKey(gateway: $0.gateway, group: $0.group) })
            guard units.count > 1 else { continue }
            let gateways = list.map(\.gateway).sorted()
            result[prefix] = RouteConflict(prefix: prefix, gateways: gateways, winner: gateways[0])
        }
        return result
    }

    /// The unit a gateway's advertisement belongs to: its group, or the gateway alone.
    static func unitKey(gateway: String, group: String?) -> String {
        group.map { "group:\($0)" } ?? "gateway:\(gateway)"
    }
}
