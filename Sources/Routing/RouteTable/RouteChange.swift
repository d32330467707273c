public import NetworkTypes

/// One change to a ``RouteTable``, for the daemon's log and metrics. Changes to next hops are computed
/// separately by ``DesiredRoutes``.
public enum RouteChange: Sendable, Hashable, CustomStringConvertible {
    /// Why a gateway's route went away.
    public enum RemovalReason: String, Sendable, Hashable {
        /// A newer routes message no longer lists the prefix.
        case notAdvertised = "not_advertised"
        /// The gateway withdrew all its routes (clean shutdown).
        case withdrawn
        /// Nothing was heard from the gateway for the route expiry time.
        case expired
    }

    /// The gateway now advertises the prefix (in `group`, or without a group).
    case added(IPPrefix, gateway: String, group: String?)
    /// The gateway no longer advertises the prefix.
    case removed(IPPrefix, gateway: String, reason: RemovalReason)
    /// The gateway still advertises the prefix, now in another group (or none).
    case regrouped(IPPrefix, gateway: String, from: String?, to: String?)
    /// The policy refused the prefix; reported the first time a gateway sends it.
    case rejected(IPPrefix, gateway: String, reason: String)
    /// More prefixes of one message were refused than are named one by one; `count` is how many more.
    case moreRejected(gateway: String, count: Int)
    /// A gateway advertised more prefixes than the policy allows; only the first `limit` were kept.
    /// Reported when it starts.
    case limitExceeded(gateway: String, advertised: Int, limit: Int)
    /// A routes or withdraw message was older than one already applied, and was ignored.
    case staleIgnored(gateway: String, sequence: UInt64)
    /// A message named a sender other than the gateway it came from, and was ignored.
    case senderMismatch(gateway: String, claimed: String)
    /// A conflict appeared or changed (another gateway joined it).
    case conflictDetected(RouteConflict)
    /// The prefix is no longer contested.
    case conflictResolved(IPPrefix)

    public var description: String {
        switch self {
        case .added(let prefix, let gateway, let group):
            "\(gateway) advertises \(prefix)\(group.map { " in group \($0)" } ?? "")"
        case .removed(let prefix, let gateway, let reason):
            "\(gateway) no longer advertises \(prefix) (\(reason.rawValue))"
        case .regrouped(let prefix, let gateway, let from, let to):
            "\(gateway) moved \(prefix) from group \(from ?? "none") to \(to ?? "none")"
        case .rejected(let prefix, let gateway, let reason):
            "rejected \(prefix) from \(gateway): \(reason)"
        case .moreRejected(let gateway, let count):
            "rejected \(count) more prefixes from \(gateway)"
        case .limitExceeded(let gateway, let advertised, let limit):
            "\(gateway) advertises \(advertised) prefixes, more than the limit of \(limit) (limits.max_routes_per_peer): only the first \(limit) are used"
        case .staleIgnored(let gateway, let sequence):
            "ignored stale message \(sequence) from \(gateway)"
        case .senderMismatch(let gateway, let claimed):
            "ignored message from \(gateway) claiming to be \(claimed)"
        case .conflictDetected(let conflict):
            conflict.description
        case .conflictResolved(let prefix):
            "conflict on \(prefix) resolved"
        }
    }
}
