internal import CLinuxShims
internal import Glibc

/// What a process holding private keys does first.
public enum ProcessHardening {
    /// No core dump can carry the keys, whatever the unit or the shell allows: the core size limit is set to
    /// zero, soft and hard (so nothing in the process can raise it again), and the process is marked not
    /// dumpable (`PR_SET_DUMPABLE` 0), which also keeps unprivileged ptrace and `/proc/PID/mem` away.
    public static func forbidCoreDumps() throws(SystemError) {
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        guard setrlimit(RLIMIT_CORE_VALUE, &none) == 0 else {
            throw SystemError("setrlimit(RLIMIT_CORE)", errno: errno)
        }
        _ = try checkShim("prctl(PR_SET_DUMPABLE)", CLinuxShims_set_dumpable(0))
    }

    /// Whether the process may dump core (`PR_GET_DUMPABLE` is not 0).
    public static var isDumpable: Bool { CLinuxShims_get_dumpable() != 0 }

    private static var RLIMIT_CORE_VALUE: __rlimit_resource_t { __rlimit_resource_t(RLIMIT_CORE.rawValue) }
}
