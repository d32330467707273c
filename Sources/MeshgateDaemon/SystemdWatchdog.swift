import Foundation
import Glibc
import LinuxSystem

/// systemd's service watchdog (`WatchdogSec=`): `WATCHDOG=1` at half of `WATCHDOG_USEC`, sent from the
/// control loop, so a loop that hangs (a lock never released, a poll that never returns) stops the pings
/// and systemd restarts the daemon. Inactive when systemd did not ask for pings, or asked another process
/// (`WATCHDOG_PID`). Safe for concurrent use.
public final class SystemdWatchdog: @unchecked Sendable {
    /// Time between pings, or `nil` when the watchdog is off.
    public let interval: Duration?
    private let lock = PThreadMutex()
    private var lastPing: ContinuousClock.Instant?

    /// - Parameter environment: the process's own unless a test passes one.
    public init(environment: [String: String]? = nil) {
        interval = Self.pingInterval(
            environment: environment ?? ProcessInfo.processInfo.environment, pid: Int(getpid()))
    }

    /// Half of `WATCHDOG_USEC`, when it is set for this process.
    static func pingInterval(environment: [String: String], pid: Int) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 else { return nil }
        if let owner = environment["WATCHDOG_PID"], let ownerPID = Int(owner), ownerPID != pid { return nil }
        return .microseconds(Int64(clamping: usec / 2))
    }

    /// Pings if the last ping is at least ``interval`` ago. Call from the control loop on every pass.
    public func pingIfDue() {
        guard let interval else { return }
        let now = ContinuousClock.now
        let due: Bool = lock.withLock {
            if let lastPing, now - lastPing < interval { return false }
            lastPing = now
            return true
        }
        if due { SystemdNotify.send("WATCHDOG=1") }
    }
}
