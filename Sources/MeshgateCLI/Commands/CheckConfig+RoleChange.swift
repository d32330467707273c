import GatewayConfig
import Glibc

extension CheckConfig {
    /// `ha.on_role_change` must name an executable regular file: meshgated starts it without a shell, and a
    /// typo would otherwise surface only at the first failover.
    func roleChangeHookProblems(_ config: GatewayConfiguration) -> [String] {
        guard let program = config.ha?.onRoleChange?.first else { return [] }
        var info = stat()
        guard stat(program, &info) == 0 else {
            return ["ha.on_role_change[0]: \(program): \(String(cString: strerror(errno)))"]
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            return ["ha.on_role_change[0]: \(program): not a regular file"]
        }
        guard access(program, X_OK) == 0 else { return ["ha.on_role_change[0]: \(program): not executable"] }
        return []
    }
}
