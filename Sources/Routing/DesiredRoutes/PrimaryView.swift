/// Who is primary of each HA group, decided from role reports alone, the same way on every gateway.
///
/// Reports may come from hellos (``PrimaryElection/reports(now:)``, on the group's own members) and
/// from the group records of routes messages (``RouteTable/roleReports(now:)``, everywhere). Because a
/// gateway numbers all its messages from one counter, the report with the highest sequence is the
/// gateway's latest word; older reports of the same (gateway, group) are dropped. Among the remaining
/// reports that claim primary, the greatest in the claim order (term, priority, lower name; see
/// ``RoleReport``) is the primary. Callers pass only reports from live gateways: the election drops
/// silent members and the route table drops expired entries.
public struct PrimaryView: Sendable, Hashable {
    /// The newest report of each (gateway, group), sorted by group then gateway.
    public let reports: [RoleReport]

    public init(reports: some Sequence<RoleReport>) {
        var newest: [String: RoleReport] = [:]
        for report in reports {
            let key = "\(report.group)\u{0}\(report.gateway)"
            guard let existing = newest[key] else {
                newest[key] = report
                continue
            }
            if Self.isNewer(report, than: existing) { newest[key] = report }
        }
        self.reports = newest.values.sorted { ($0.group, $0.gateway) < ($1.group, $1.gateway) }
    }

    /// The primary of `group`: the highest claim among the reports claiming primary, restricted to
    /// `gateways` when given (for example, the gateways advertising one prefix). `nil` when nobody
    /// claims the role.
    public func primary(of group: String, among gateways: Set<String>? = nil) -> RoleReport? {
        reports.filter { report in
            report.group == group && report.role == .primary && (gateways.map { $0.contains(report.gateway) } ?? true)
        }
        .max { $1.outranks($0) }
    }

    /// The primary of every group that has one, by group name.
    public var primaries: [String: RoleReport] {
        var result: [String: RoleReport] = [:]
        for group in Set(reports.map(\.group)) {
            if let primary = primary(of: group) { result[group] = primary }
        }
        return result
    }

    /// Higher sequence wins; equal sequences (which one counter should never produce) fall back to the
    /// claim order so the result does not depend on input order.
    private static func isNewer(_ candidate: RoleReport, than existing: RoleReport) -> Bool {
        if candidate.sequence != existing.sequence { return candidate.sequence > existing.sequence }
        if candidate.role != existing.role { return candidate.role == .primary }
        return candidate.outranks(existing)
    }
}
