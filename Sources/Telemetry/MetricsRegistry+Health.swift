import Synchronization

extension MetricsRegistry {
    /// Sets `meshgate_health_problems{kind,severity}` for every kind: `counts` holds the kinds present,
    /// each kind's series carries the severity its problems have (`severities`), and absent kinds read 0
    /// at their last severity, so a cleared problem's series falls to 0 rather than disappearing.
    public func setHealth(
        counts: [String: (severity: String, count: Int)], allKinds: [(kind: String, severity: String)], status: Int
    ) {
        state.withLock { state in
            for (kind, defaultSeverity) in allKinds {
                let present = counts[kind]
                let severity = present?.severity ?? defaultSeverity
                for other in ["warning", "critical"] where other != severity {
                    remove(MetricCatalog.healthProblems, [kind, other], in: &state)
                }
                setGauge(MetricCatalog.healthProblems, [kind, severity], to: Double(present?.count ?? 0), in: &state)
            }
            setGauge(MetricCatalog.healthStatus, [], to: Double(status), in: &state)
        }
    }

    /// Follows the controller's count of forwarding switch-offs found for one sysctl.
    public func setForwardingDisabledTotal(switch name: String, total: UInt64) {
        state.withLock { advance(MetricCatalog.forwardingDisabled, [name], toTotal: total, in: &$0) }
    }

    /// Follows the controller's count of changes found in meshgate's nftables table.
    public func setRulesetChangesTotal(_ total: UInt64) {
        state.withLock { advance(MetricCatalog.rulesetChanges, [], toTotal: total, in: &$0) }
    }

    /// Sets one probed path's state (`loss` nil: no settled probe yet).
    public func setPath(subnet: String, target: String, up: Bool, loss: Double?) {
        state.withLock { state in
            setGauge(MetricCatalog.pathUp, [subnet, target], to: up ? 1 : 0, in: &state)
            if let loss { setGauge(MetricCatalog.pathLoss, [subnet], to: loss, in: &state) }
        }
    }

    public func observePathRTT(subnet: String, seconds: Double) {
        state.withLock { observe(MetricCatalog.pathRTT, [subnet], seconds, in: &$0) }
    }

    /// Drops a path no longer probed (withdrawn, or this gateway became standby).
    public func removePath(subnet: String, target: String) {
        state.withLock { state in
            remove(MetricCatalog.pathUp, [subnet, target], in: &state)
            remove(MetricCatalog.pathLoss, [subnet], in: &state)
            remove(MetricCatalog.pathRTT, [subnet], in: &state)
        }
    }
}
