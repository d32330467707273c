import GatewayConfig
import GatewayController
import Logging
import Telemetry

// MARK: - ha.on_role_change

extension Gateway {
    /// The hook runner for this gateway: counts every run and audits the ones that did not succeed.
    static func makeRoleChangeHook(logger: Logger, metrics: MetricsRegistry, audit: AuditLog) -> RoleChangeHook {
        RoleChangeHook(logger: logger) { change, outcome in
            metrics.countRoleChangeHookRun(result: outcome.label)
            guard outcome != .ok else { return }
            var fields: [String: any Sendable] = [
                "group": change.group, "role": change.role, "result": outcome.label,
            ]
            switch outcome {
            case .failed(let why), .spawnFailed(let why): fields["detail"] = why
            case .ok, .timedOut: break
            }
            audit.record("role_change_hook_failed", fields)
        }
    }

    /// Hands every role change among `events` to the hook, if one is configured. Never waits for it.
    /// Caller holds `lock`.
    func runRoleChangeHook(for events: [AuditEvent]) {
        guard let ha = controller.config.ha, let command = ha.onRoleChange else { return }
        for event in events where event.name == "primary_changed" {
            guard case .string(let role) = event.fields["role"] else { continue }
            var term = 0
            if case .int(let t) = event.fields["term"] { term = t }
            var primary = ""
            if case .string(let p) = event.fields["primary"] { primary = p }
            var reason = ""
            if case .string(let r) = event.fields["reason"] { reason = r }
            roleChangeHook.roleChanged(
                command: command, timeout: ha.onRoleChangeTimeout,
                change: .init(
                    role: role, group: ha.group, node: controller.config.node.name, term: term, primary: primary,
                    reason: reason))
        }
    }
}
