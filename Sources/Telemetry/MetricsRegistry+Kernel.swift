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
}
