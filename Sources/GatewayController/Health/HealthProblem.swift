public import Routing

/// Something an operator must know because traffic is, or may soon be, dropped: the health verdict of
/// `meshgate status`, `meshgate health`, `meshgate_health_problems` and the `health_problem` audit events.
public struct HealthProblem: Sendable, Hashable {
    /// What kind of failure; the metric's `kind` label and the JSON `kind`.
    public enum Kind: String, CaseIterable, Sendable, Comparable {
        /// IPv4/IPv6 forwarding off globally or on an interface we forward through.
        case forwardingOff = "forwarding_off"
        /// Something switched global forwarding off and meshgated switched it back on (recently).
        case forwardingSwitchedOff = "forwarding_switched_off"
        /// A remote subnet's end-to-end probes go unanswered while the tunnel to its gateway is up.
        case pathDown = "path_down"
        /// A peer does not answer (probes, handshakes): down, blocked, or it no longer accepts our key.
        case peerDown = "peer_down"
        /// The same prefix advertised by gateways of different HA groups (or lone gateways).
        case routeConflict = "route_conflict"
        /// A peer's configured `key_expires` has passed: its key is refused.
        case keyExpired = "key_expired"
        /// A peer's key expires within ``GatewayController/keyExpiryWarning``.
        case keyExpiring = "key_expiring"
        /// More than one member of an HA group claims primary.
        case multiplePrimaries = "multiple_primaries"
        /// meshgate's nftables table (MSS clamp, policy, input baseline) was missing or changed under us.
        case mssClampChanged = "mss_clamp_changed"
        /// The HA group's primary changed more often than ``Health/flapChanges`` in ``Health/flapWindow``.
        case failoverFlap = "failover_flap"
        /// A configured subnet of ours is not advertised (a withdrawal drill holds it back).
        case advertisementWithdrawn = "advertisement_withdrawn"
        /// Another table's chain on the forward hook that can drop packets (policy drop, or rules).
        case foreignForwardFilter = "foreign_forward_filter"
        /// A grouped subnet whose group has no primary.
        case routeWithoutPrimary = "route_without_primary"
        /// The HA LAN interface is down, or the WAN reaches no peer.
        case interfaceDown = "interface_down"
        /// The kernel refuses our routes, addresses or nftables changes.
        case kernelSyncFailing = "kernel_sync_failing"
        /// The configured policy is not in the kernel.
        case policyNotEnforced = "policy_not_enforced"
        /// A peer advertised a prefix the policy does not let it announce.
        case routeNotApproved = "route_not_approved"
        /// A peer announces a different policy digest.
        case policyMismatch = "policy_mismatch"

        public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }

        /// The severity the kind's metric series carries while none is present.
        public var usualSeverity: Severity {
            switch self {
            case .forwardingSwitchedOff, .keyExpiring, .mssClampChanged, .failoverFlap, .routeNotApproved,
                .policyMismatch, .foreignForwardFilter:
                .warning
            default: .critical
            }
        }
    }

    /// The monitoring-plugin convention: `meshgate health` exits 1 for warnings, 2 for critical problems.
    public enum Severity: String, Sendable, Comparable, CaseIterable {
        case warning
        case critical

        public static func < (a: Severity, b: Severity) -> Bool { a == .warning && b == .critical }
    }

    public var kind: Kind
    /// What the problem is about: an interface, a subnet, a peer, a group.
    public var subject: String
    public var severity: Severity
    /// One sentence: what is wrong and what it does to traffic.
    public var message: String
    /// What to check or do.
    public var hint: String
    /// When the problem was first seen (set by ``HealthMonitor``).
    public var since: Timestamp

    public init(
        _ kind: Kind, subject: String, severity: Severity, message: String, hint: String, since: Timestamp = .zero
    ) {
        self.kind = kind
        self.subject = subject
        self.severity = severity
        self.message = message
        self.hint = hint
        self.since = since
    }

    /// The identity of a problem across checks: one per kind and subject.
    public var key: String { "\(kind.rawValue)\u{0}\(subject)" }
}

/// The set of current problems, kept across checks so each keeps the moment it was first seen, and the
/// audit events of what was raised and cleared. Pure.
public struct HealthMonitor: Sendable {
    /// Current problems by ``HealthProblem/key``.
    public private(set) var current: [String: HealthProblem] = [:]
    /// Findings not yet raised: the moment each was first found (see ``Health/debounce(_:)``).
    private var pending: [String: Timestamp] = [:]

    public init() {}

    /// The problems, worst first, then by kind and subject.
    public var problems: [HealthProblem] {
        current.values.sorted {
            ($0.severity, $1.kind, $1.subject) > ($1.severity, $0.kind, $0.subject)
        }
    }

    /// The worst severity, or nil when healthy.
    public var worst: HealthProblem.Severity? { current.values.map(\.severity).max() }

    /// Replaces the current problems with `findings`, keeping each surviving problem's `since`. A finding
    /// of a debounced kind is raised only once it has been found for that long. Returns the audit events
    /// (`health_problem`, state `raised` or `cleared`) and log lines of what changed.
    mutating func update(_ findings: [HealthProblem], now: Timestamp) -> (events: [AuditEvent], logs: [LogLine]) {
        var next: [String: HealthProblem] = [:]
        var nextPending: [String: Timestamp] = [:]
        var events: [AuditEvent] = []
        var logs: [LogLine] = []
        for var finding in findings {
            let key = finding.key
            if let existing = current[key] {
                finding.since = existing.since
                next[key] = finding
                continue
            }
            let firstFound = pending[key] ?? now
            guard now.duration(since: firstFound) >= Health.debounce(finding.kind) else {
                nextPending[key] = firstFound
                continue
            }
            finding.since = firstFound
            next[key] = finding
            events.append(Self.event(finding, state: "raised"))
            logs.append(
                LogLine(
                    finding.severity == .critical ? .error : .warning,
                    "health: \(finding.kind.rawValue) \(finding.subject): \(finding.message) (\(finding.hint))"))
        }
        for (key, old) in current.sorted(by: { $0.key < $1.key }) where next[key] == nil {
            events.append(Self.event(old, state: "cleared"))
            logs.append(LogLine(.notice, "health: \(old.kind.rawValue) \(old.subject) cleared"))
        }
        current = next
        pending = nextPending
        return (events, logs)
    }

    private static func event(_ problem: HealthProblem, state: String) -> AuditEvent {
        AuditEvent(
            "health_problem",
            [
                "kind": .string(problem.kind.rawValue), "subject": .string(problem.subject),
                "severity": .string(problem.severity.rawValue), "state": .string(state),
                "message": .string(problem.message),
            ])
    }
}

/// Thresholds of the health checks.
public enum Health {
    /// A failover flap: more than this many primary changes of our group…
    public static let flapChanges = 4
    /// …within this window.
    public static let flapWindow: Duration = .seconds(600)
    /// A restored global forwarding switch-off stays a warning this long.
    public static let recentDriftWindow: Duration = .seconds(600)

    /// How long a finding must persist before it is raised: claims overlap for a moment during every
    /// hand-over, and a conflict is seen briefly while a subnet moves between adverts.
    static func debounce(_ kind: HealthProblem.Kind) -> Duration {
        switch kind {
        // Longer than a dead peer takes to stop counting as up (5 s of unanswered probes).
        case .multiplePrimaries: .seconds(6)
        case .routeConflict, .routeWithoutPrimary: .seconds(3)
        default: .zero
        }
    }
}
