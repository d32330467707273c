public import Netlink
public import NetworkTypes

/// Kernel route synchronisation: makes the routes we own match an intent, and touches nothing else.
///
/// As BIRD's kernel protocol does, every sync reads the kernel's routes back (every table, every
/// protocol), gives each one a verdict, and repairs the difference in one netlink batch:
///
/// - **Ours** means `rtm_protocol` ``RouteNetlink/meshgateRouteProtocol``, in any table: a route of ours
///   the intent does not hold, attribute for attribute (destination, table, metric, interface, gateway,
///   protocol, source), is removed, so a change of `kernel.route_table` or `kernel.route_metric` moves
///   our routes and a restart prunes what a killed predecessor left.
/// - **Foreign** routes (any other protocol: `kernel` for connected subnets, `static`, `boot`, another
///   routing daemon) are never replaced or removed. A wanted route whose kernel key (table, destination,
///   metric) is held by a foreign route is not installed; the plan reports it as ``Plan/blocked``.
/// - A wanted route whose key holds a route of ours with other attributes is replaced in place (one
///   request, no gap); a new one is added with `NLM_F_EXCL`, so a foreign route that appeared between the
///   read and the write makes the kernel refuse rather than overwrite it.
///
/// The plan is a pure function of the intent and what was read, so it is tested without root.
public enum RouteSync {
    /// What one sync will do.
    public struct Plan: Sendable, Hashable {
        /// Requests in order: removals first, then replacements and additions.
        public var requests: [NetlinkRequest] = []
        /// Wanted routes not installed because a foreign route holds their key, each with that route.
        public var blocked: [Blocked] = []

        public init() {}

        /// Whether the kernel already matches the intent (blocked routes aside).
        public var isEmpty: Bool { requests.isEmpty }
    }

    /// A wanted route and the foreign route in its place.
    public struct Blocked: Sendable, Hashable, CustomStringConvertible {
        public var wanted: Route
        public var foreign: Route

        public var description: String {
            "\(wanted.destination) not installed: the kernel has a route of protocol \(foreign.protocolNumber) there (\(foreign)); meshgate never replaces routes it does not own"
        }
    }

    /// What ``apply(_:observed:netlink:)`` did.
    public struct Outcome: Sendable {
        public var added: [Route] = []
        public var replaced: [Route] = []
        public var removed: [Route] = []
        public var blocked: [Blocked] = []
        /// Requests the kernel refused, with the errno, e.g. `EEXIST` for a foreign route that appeared.
        public var failures: [(request: NetlinkRequest, errno: Int32)] = []
    }

    /// The kernel's key of a route: at most one route per (family, table, destination, metric).
    struct Key: Hashable {
        var destination: IPPrefix
        var table: UInt32
        var metric: UInt32

        init(_ route: Route) {
            destination = route.destination
            table = route.table
            metric = RouteSync.effectiveMetric(route)
        }
    }

    /// The metric the kernel stores: IPv6 turns "none" or 0 into 1024 (`IP6_RT_PRIO_USER`).
    static func effectiveMetric(_ route: Route) -> UInt32 {
        let metric = route.metric ?? 0
        return !route.destination.address.isV4 && metric == 0 ? 1024 : metric
    }

    /// `route` as the kernel reads it back, for comparing attribute by attribute.
    static func normalized(_ route: Route) -> Route {
        var copy = route
        copy.metric = effectiveMetric(route)
        return copy
    }

    /// The requests that make the routes of `protocolNumber` in `observed` equal `wanted`.
    /// - Parameters:
    ///   - wanted: the intent; every route must carry `protocolNumber`.
    ///   - observed: every route the kernel has, of every table and protocol.
    ///   - keepingStale: remove nothing (start-up, before the first adverts could arrive: what a
    ///     predecessor installed stays until the intent is known).
    public static func plan(
        wanted: Set<Route>, observed: [Route], protocolNumber: UInt8 = RouteNetlink.meshgateRouteProtocol,
        keepingStale: Bool = false
    ) -> Plan {
        var plan = Plan()
        let wantedByKey = Dictionary(wanted.map { (Key($0), $0) }, uniquingKeysWith: { first, _ in first })
        var ours: [Key: Route] = [:]
        var foreign: [Key: Route] = [:]
        for route in observed {
            if route.protocolNumber == protocolNumber {
                ours[Key(route)] = route
            } else {
                foreign[Key(route)] = foreign[Key(route)] ?? route
            }
        }
        // Ours that the intent does not want at their key: removed (by exact value, so nothing else matches).
        for (key, route) in ours.sorted(by: { $0.key.destination < $1.key.destination })
        where wantedByKey[key] == nil && !keepingStale {
            plan.requests.append(.deleteRoute(route))
        }
        for route in wanted.sorted(by: { ($0.destination, $0.table) < ($1.destination, $1.table) }) {
            let key = Key(route)
            if let existing = ours[key] {
                if normalized(existing) != normalized(route) { plan.requests.append(.replaceRoute(route)) }
            } else if let other = foreign[key] {
                plan.blocked.append(Blocked(wanted: route, foreign: other))
            } else {
                plan.requests.append(.addRoute(route))
            }
        }
        return plan
    }

    /// Reads the kernel's routes, plans, and applies the plan in one batch.
    @discardableResult
    public static func sync(
        wanted: Set<Route>, netlink: RouteNetlink, protocolNumber: UInt8 = RouteNetlink.meshgateRouteProtocol,
        keepingStale: Bool = false
    ) throws(NetlinkError) -> Outcome {
        let observed = try netlink.routes(table: 0)
        return try apply(
            plan(wanted: wanted, observed: observed, protocolNumber: protocolNumber, keepingStale: keepingStale),
            netlink: netlink)
    }

    /// Applies `plan` in one batch and reports what happened; a refused request is an entry in
    /// ``Outcome/failures``, not an error (the others still took effect). Throws only when the exchange
    /// with the kernel itself failed.
    public static func apply(_ plan: Plan, netlink: RouteNetlink) throws(NetlinkError) -> Outcome {
        var outcome = Outcome()
        outcome.blocked = plan.blocked
        var failed: Set<Int> = []
        do {
            try netlink.apply(plan.requests)
        } catch {
            guard case .batch(let failures, _) = error else { throw error }
            for failure in failures {
                failed.insert(failure.index)
                outcome.failures.append((plan.requests[failure.index], failure.errno))
            }
        }
        for (index, request) in plan.requests.enumerated() where !failed.contains(index) {
            switch request {
            case .addRoute(let route): outcome.added.append(route)
            case .replaceRoute(let route): outcome.replaced.append(route)
            case .deleteRoute(let route): outcome.removed.append(route)
            default: break
            }
        }
        return outcome
    }
}
