import CLinuxShims
import Glibc

/// Runs code with the calling thread inside another network namespace.
///
/// Sockets keep the namespace they were created in, so the pattern is: create the netlink socket inside
/// `withNamespace`, then use it from anywhere. Tests use this to program namespaces made with
/// `ip netns add` without touching the host's routing; the daemon runs in its own namespace and needs none.
public enum NetworkNamespace {
    /// Where `ip netns add NAME` puts the namespace handle.
    public static func path(named name: String) -> String { "/var/run/netns/\(name)" }

    /// Runs `body` with this thread in the namespace at `path`, then returns to the original one.
    public static func withNamespace<R>(path: String, _ body: () throws -> R) throws -> R {
        let target = open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw SystemError("open \(path)", errno: errno) }
        defer { close(target) }
        let original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard original >= 0 else { throw SystemError("open /proc/thread-self/ns/net", errno: errno) }
        defer { close(original) }
        guard CLinuxShims_setns_net(target) == 0 else { throw SystemError("setns \(path)", errno: errno) }
        // Returning to the original namespace must not fail silently: the thread would stay in the wrong one.
        defer { precondition(CLinuxShims_setns_net(original) == 0, "setns back to the original namespace failed") }
        return try body()
    }
}
