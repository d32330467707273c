import Synchronization

extension MetricsRegistry {
    /// Counts one run of the `ha.on_role_change` command (`meshgate_role_change_hook_runs_total`).
    /// - Parameter result: `ok`, `failed`, `timed_out` or `spawn_failed`.
    public func countRoleChangeHookRun(result: String) {
        state.withLock { increment(MetricCatalog.roleChangeHookRuns, [result], in: &$0) }
    }
}
