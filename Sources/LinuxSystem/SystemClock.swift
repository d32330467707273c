import CLinuxShims

/// Readings of the two clocks the protocol needs.
public enum SystemClock {
    /// `CLOCK_BOOTTIME` in nanoseconds: monotonic, and keeps counting across a VM suspend.
    public static func monotonicNanoseconds() -> UInt64 { CLinuxShims_boottime_ns() }

    /// `CLOCK_REALTIME` as seconds and nanoseconds.
    public static func wallTime() -> (seconds: Int64, nanoseconds: Int32) {
        var s: Int64 = 0
        var ns: Int64 = 0
        CLinuxShims_realtime(&s, &ns)
        return (s, Int32(ns))
    }
}
