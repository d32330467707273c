import Synchronization

extension MetricsRegistry {
    /// Sets `meshgate_ip_forwarding_enabled{family}` from the kernel's forwarding sysctl. Report only the
    /// families meshgate routes: the "forwarding off" alert fires on any family reported as 0.
    public func setForwarding(family: AddressFamily, enabled: Bool) {
        state.withLock { setGauge(MetricCatalog.ipForwardingEnabled, [family.rawValue], to: enabled ? 1 : 0, in: &$0) }
    }

    /// Follows the packet counter of the nftables MSS clamp rule (an absolute total; see
    /// ``setTotal(_:labels:total:)``).
    public func setMSSClampedPacketsTotal(_ total: UInt64) {
        state.withLock { advance(MetricCatalog.mssClampedPackets, [], toTotal: total, in: &$0) }
    }

    /// Follows the engine's running count of drops for one reason (the `DropReason` raw value, snake_case).
    public func setPacketsDroppedTotal(reason: String, total: UInt64) {
        state.withLock { advance(MetricCatalog.packetsDropped, [reason], toTotal: total, in: &$0) }
    }

    /// Follows the daemon's running count of refused route-protocol messages for one reason.
    public func setRouteMessagesDroppedTotal(reason: String, total: UInt64) {
        state.withLock { advance(MetricCatalog.routeMessagesDropped, [reason], toTotal: total, in: &$0) }
    }

    /// Follows the engine's running count of handshakes with one result (a snake_case word such as
    /// `completed`, `failed`, `timed_out`; keep the set small and fixed).
    public func setHandshakesTotal(result: String, total: UInt64) {
        state.withLock { advance(MetricCatalog.handshakes, [result], toTotal: total, in: &$0) }
    }

    /// Sets `meshgate_policy_enforced`.
    public func setPolicyEnforced(_ enforced: Bool) {
        state.withLock { setGauge(MetricCatalog.policyEnforced, [], to: enforced ? 1 : 0, in: &$0) }
    }

    /// Follows one policy rule's kernel counter (absolute totals; a reload restarts them, which is counted on).
    public func setPolicyTotals(rule: String, packets: UInt64, bytes: UInt64) {
        state.withLock {
            advance(MetricCatalog.policyPackets, [rule], toTotal: packets, in: &$0)
            advance(MetricCatalog.policyBytes, [rule], toTotal: bytes, in: &$0)
        }
    }

    /// Follows the input baseline's drop counter.
    public func setFirewallDroppedTotal(_ total: UInt64) {
        state.withLock { advance(MetricCatalog.firewallDroppedPackets, [], toTotal: total, in: &$0) }
    }

    /// Follows the relay chain's counters in meshgate's table.
    public func setRelayTotals(transitPackets: UInt64, transitBytes: UInt64, loopDropped: UInt64) {
        state.withLock { state in
            advance(MetricCatalog.relayTransitPackets, [], toTotal: transitPackets, in: &state)
            advance(MetricCatalog.relayTransitBytes, [], toTotal: transitBytes, in: &state)
            advance(MetricCatalog.relayLoopDropped, [], toTotal: loopDropped, in: &state)
        }
    }

    /// Follows the controller's count of refused learned prefixes for one reason.
    public func setRoutesRefusedTotal(reason: String, total: UInt64) {
        state.withLock { advance(MetricCatalog.routesRefused, [reason], toTotal: total, in: &$0) }
    }
}
