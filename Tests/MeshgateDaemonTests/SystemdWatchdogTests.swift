import Glibc
import MeshgateDaemon
import Testing

@Suite("systemd watchdog")
struct SystemdWatchdogTests {
    @Test("pings at half of WATCHDOG_USEC, for this process only")
    func interval() {
        #expect(SystemdWatchdog(environment: ["WATCHDOG_USEC": "10000000"]).interval == .seconds(5))
        #expect(
            SystemdWatchdog(environment: ["WATCHDOG_USEC": "4000000", "WATCHDOG_PID": String(getpid())]).interval
                == .seconds(2))
        #expect(SystemdWatchdog(environment: ["WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"]).interval == nil)
        #expect(SystemdWatchdog(environment: [:]).interval == nil)
        #expect(SystemdWatchdog(environment: ["WATCHDOG_USEC": "0"]).interval == nil)
    }
}
