/// What one gateway last said about its own role in one HA group: from a hello, from the group record
/// of a routes message, or from the local ``PrimaryElection``.
///
/// ## The claim order
/// When several members claim primary at once (a healed partition, or two takeovers racing), every
/// gateway keeps the claim that is greatest in this total order and ignores the others:
///
/// 1. the higher `term` wins (the most recent election);
/// 2. on equal terms, the higher `priority` wins;
/// 3. on equal priorities, the lexicographically *lower* gateway name wins (names are unique).
///
/// ``PrimaryElection`` makes the losing claimant yield by the same order, and ``PrimaryView`` and
/// ``DesiredRoutes`` use it to pick the next hop, so all gateways agree given the same reports.
public struct RoleReport: Sendable, Hashable, CustomStringConvertible {
    /// The reporting gateway.
    public var gateway: String
    /// The HA group.
    public var group: String
    /// The role the gateway claims.
    public var role: PrimaryElection.Role
    /// The claim's term (for a standby, the highest term it knows).
    public var term: UInt64
    /// The gateway's priority in the group, 1...255.
    public var priority: UInt8
    /// The sequence number of the message the report came from, to keep the newest report per gateway
    /// when hellos and routes messages disagree. `UInt64.max` for the local gateway's own report.
    public var sequence: UInt64

    public init(
        gateway: String, group: String, role: PrimaryElection.Role, term: UInt64, priority: UInt8, sequence: UInt64
    ) {
        self.gateway = gateway
        self.group = group
        self.role = role
        self.term = term
        self.priority = priority
        self.sequence = sequence
    }

    /// Whether this claim beats `other` in the claim order: higher term, then higher priority, then
    /// lower name.
    public func outranks(_ other: RoleReport) -> Bool {
        ClaimKey(term: term, priority: priority, name: gateway)
            > ClaimKey(term: other.term, priority: other.priority, name: other.gateway)
    }

    /// `"gw-a primary of nyc1 (term 3, priority 200)"`.
    public var description: String {
        "\(gateway) \(role) of \(group) (term \(term), priority \(priority))"
    }
}

/// The claim order as a comparable value: term, then priority, then the lower name.
struct ClaimKey: Comparable {
    var term: UInt64
    var priority: UInt8
    var name: String

    static func < (lhs: ClaimKey, rhs: ClaimKey) -> Bool {
        if lhs.term != rhs.term { return lhs.term < rhs.term }
        if lhs.priority != rhs.priority { return lhs.priority < rhs.priority }
        return lhs.name > rhs.name
    }
}

/// The order in which members are chosen when the role is vacant: members that are not on hold before
/// those that are, then higher priority, then the lower name. Terms do not matter here.
struct CandidateKey: Comparable {
    var held: Bool
    var priority: UInt8
    var name: String

    static func < (lhs: CandidateKey, rhs: CandidateKey) -> Bool {
        if lhs.held != rhs.held { return lhs.held }
        if lhs.priority != rhs.priority { return lhs.priority < rhs.priority }
        return lhs.name > rhs.name
    }
}
