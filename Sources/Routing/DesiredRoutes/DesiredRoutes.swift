public import NetworkTypes

/// The next hop of every learned prefix: the pure function each gateway, HA member or remote, runs to
/// decide where to send traffic, so that all gateways agree given the same messages.
///
/// For each prefix advertised by a live entry of the ``RouteTable``:
/// - advertised by one gateway without a group: that gateway;
/// - advertised by members of one HA group: the member claiming primary that is highest in the claim
///   order (``PrimaryView``), among the members advertising the prefix. With no claimant the prefix is
///   listed in ``withoutPrimary`` and keeps its `previous` next hop if that gateway still advertises it,
///   so a hand-over in progress does not remove the route;
/// - advertised by several units (groups or lone gateways): a ``RouteConflict``. The unit that carried
///   the prefix (`previousUnits`, else the unit of its `previous` next hop) keeps it while any of its
///   gateways still advertises it, so a newcomer advertising another region's subnet cannot take it away,
///   not even while the group fails over; with no history, the unit of the lowest gateway name is used.
///
/// - lying strictly inside a prefix that an HA group advertises, from anyone outside that group: refused
///   and listed in ``refusedInsideGroups``. A group's subnets belong to its declared members, so no other
///   gateway can take part of a region's traffic with a more-specific route.
///
/// Prefixes the local gateway advertises map to the local gateway's name when the daemon feeds its own
/// routes messages to the table; the daemon skips those when programming the kernel.
public struct DesiredRoutes: Sendable, Hashable {
    /// Prefix → the gateway that should receive its traffic.
    public var nextHops: [IPPrefix: String]
    /// Grouped prefixes with no member claiming primary, sorted.
    public var withoutPrimary: [IPPrefix]
    /// Prefixes advertised outside one HA group, sorted by prefix.
    public var conflicts: [RouteConflict]
    /// Prefixes refused because they lie inside another HA group's prefix, sorted.
    public var refusedInsideGroups: [IPPrefix]
    /// The unit (an HA group, or a lone gateway) each prefix went to: pass it back as `previousUnits`, so a
    /// contested prefix stays with its group even while that group has no primary for a moment.
    public var units: [IPPrefix: String] = [:]

    public init(
        nextHops: [IPPrefix: String], withoutPrimary: [IPPrefix], conflicts: [RouteConflict],
        refusedInsideGroups: [IPPrefix] = []
    ) {
        self.nextHops = nextHops
        self.withoutPrimary = withoutPrimary
        self.conflicts = conflicts
        self.refusedInsideGroups = refusedInsideGroups
    }

    /// Computes the next hops from the table's live entries at `now`, the role reports in their group
    /// records, and `reports` from the local election (pass `[]` on a gateway without a group).
    /// `previous` is the last result's ``nextHops``.
    public init(
        table: RouteTable, now: Timestamp, reports: [RoleReport] = [], previous: [IPPrefix: String] = [:],
        previousUnits: [IPPrefix: String] = [:]
    ) {
        let entries = table.liveEntries(now: now)
        let view = PrimaryView(reports: table.roleReports(now: now) + reports)
        var advertisers: [IPPrefix: [(gateway: String, group: String?)]] = [:]
        for entry in entries {
            for route in entry.routes { advertisers[route.prefix, default: []].append((entry.gateway, route.group)) }
        }
        var nextHops: [IPPrefix: String] = [:]
        var withoutPrimary: [IPPrefix] = []
        var refused: [IPPrefix] = []
        let conflicts = RouteTable.findConflicts(in: entries)
        // Every (prefix, group) a group's members advertise; the table admits group tags from members only.
        let grouped = Set(
            advertisers.flatMap { prefix, list in list.compactMap { $0.group.map { GroupedPrefix(prefix, $0) } } })
        var units: [IPPrefix: String] = [:]
        for (prefix, list) in advertisers {
            let byName = list.sorted { $0.gateway < $1.gateway }
            let incumbent =
                previousUnits[prefix].flatMap { unit in
                    byName.first { RouteTable.unitKey(gateway: $0.gateway, group: $0.group) == unit }
                } ?? previous[prefix].flatMap { kept in list.first { $0.gateway == kept } }
            guard let lowest = incumbent ?? byName.first else { continue }
            let unit = RouteTable.unitKey(gateway: lowest.gateway, group: lowest.group)
            units[prefix] = unit
            if grouped.contains(where: { $0.prefix != prefix && $0.prefix.contains(prefix) && $0.group != lowest.group }
            ) {
                refused.append(prefix)
                continue
            }
            let members = list.filter { RouteTable.unitKey(gateway: $0.gateway, group: $0.group) == unit }
            guard let group = lowest.group else {
                nextHops[prefix] = lowest.gateway
                continue
            }
            let names = Set(members.map(\.gateway))
            if let primary = view.primary(of: group, among: names) {
                nextHops[prefix] = primary.gateway
            } else {
                withoutPrimary.append(prefix)
                if let kept = previous[prefix], names.contains(kept) { nextHops[prefix] = kept }
            }
        }
        self.init(
            nextHops: nextHops, withoutPrimary: withoutPrimary.sorted(),
            conflicts: conflicts.values.sorted { $0.prefix < $1.prefix }, refusedInsideGroups: refused.sorted())
        self.units = units
    }
}

private struct GroupedPrefix: Hashable {
    var prefix: IPPrefix
    var group: String

    init(_ prefix: IPPrefix, _ group: String) {
        self.prefix = prefix
        self.group = group
    }
}
