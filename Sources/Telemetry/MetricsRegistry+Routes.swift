public import NetworkTypes
import Synchronization

extension MetricsRegistry {
    /// The `gateway` label of the placeholder series that keeps a subnet visible while it has never had
    /// a primary (Prometheus treats an empty label value as an absent label).
    static let noGateway = ""

    /// Sets the elected primary gateway for `subnet`: its `meshgate_route_primary` series becomes 1 and
    /// every other gateway seen for the subnet drops to 0, so a subnet never shows two primaries.
    ///
    /// `nil` means the subnet has no primary now: all its series drop to 0. If no gateway was ever seen
    /// for it, one series with an empty `gateway` label is created at 0, so that
    /// `sum by (subnet) (meshgate_route_primary) == 0` ("route without primary") can fire; it is removed
    /// once a real primary appears. The old gateways' series stay at 0 rather than disappear (at most
    /// the members of the HA group), so the sum stays defined across a failover.
    /// - Parameters:
    ///   - subnet: The advertised subnet (the `subnet` label, in canonical `address/length` form).
    ///   - gateway: The configured name of the primary gateway, or `nil` for none.
    public func setRoutePrimary(subnet: IPPrefix, gateway: String?) {
        let subnetLabel = subnet.description
        state.withLock { state in
            var gateways = state.routeGateways[subnetLabel, default: []]
            if gateway != nil, gateways.remove(Self.noGateway) != nil {
                remove(MetricCatalog.routePrimary, [subnetLabel, Self.noGateway], in: &state)
            }
            if gateway == nil && gateways.isEmpty {
                gateways.insert(Self.noGateway)
            }
            // Lower the old primary before raising the new one: a scrape in between sees no primary
            // (which the alert's `for` absorbs) rather than two.
            for other in gateways where other != gateway {
                setGauge(MetricCatalog.routePrimary, [subnetLabel, other], to: 0, in: &state)
            }
            if let gateway {
                gateways.insert(gateway)
                setGauge(MetricCatalog.routePrimary, [subnetLabel, gateway], to: 1, in: &state)
            }
            state.routeGateways[subnetLabel] = gateways
        }
    }

    /// Deletes every `meshgate_route_primary` series of `subnet`, for a subnet that is no longer
    /// advertised by anyone (withdrawn, or removed by a reload).
    public func removeRoute(subnet: IPPrefix) {
        let subnetLabel = subnet.description
        state.withLock { state in
            for gateway in state.routeGateways.removeValue(forKey: subnetLabel) ?? [] {
                remove(MetricCatalog.routePrimary, [subnetLabel, gateway], in: &state)
            }
        }
    }

    /// Sets `meshgate_routes_installed`: how many routes meshgate owns in the kernel now.
    public func setRoutesInstalled(_ count: Int) {
        state.withLock { setGauge(MetricCatalog.routesInstalled, [], to: Double(count), in: &$0) }
    }

    /// Sets `meshgate_route_last_change_timestamp_seconds` to the Unix time (seconds) of a route change.
    public func setRouteLastChange(at unixSeconds: Double) {
        state.withLock { setGauge(MetricCatalog.routeLastChangeTimestamp, [], to: unixSeconds, in: &$0) }
    }

    /// Sets this gateway's role in the HA group (`meshgate_ha_role`: 1 primary, 0 standby) and makes sure
    /// the group's `meshgate_failovers_total` exists at 0 from the start, so `increase()` sees the first one.
    public func setHARole(group: String, isPrimary: Bool) {
        state.withLock { state in
            setGauge(MetricCatalog.haRole, [group], to: isPrimary ? 1 : 0, in: &state)
            _ = series(MetricCatalog.failovers, [group], in: &state)
        }
    }

    /// Counts one failover in the HA group and records how long the group was without a serving primary.
    /// - Parameters:
    ///   - group: The HA group name (the `group` label).
    ///   - durationSeconds: From losing the old primary to the new primary serving; negative or
    ///     non-finite values still count the failover but are left out of the histogram.
    public func recordFailover(group: String, durationSeconds: Double) {
        state.withLock { state in
            increment(MetricCatalog.failovers, [group], in: &state)
            observe(MetricCatalog.failoverDuration, [], durationSeconds, in: &state)
        }
    }

    /// Counts one failover in the HA group; see ``recordFailover(group:durationSeconds:)``.
    public func recordFailover(group: String, duration: Duration) {
        recordFailover(group: group, durationSeconds: duration.secondsAsDouble)
    }
}
