/// A reading of the daemon's monotonic clock (`CLOCK_BOOTTIME` in production), in nanoseconds since an
/// arbitrary origin fixed for the life of the process.
///
/// `Routing` never reads a clock: every input that depends on time takes a `Timestamp`, so tests drive
/// time by hand. The daemon converts its clock reading (for example `WireGuard.Instant.nanoseconds`)
/// with ``init(nanoseconds:)``. Arithmetic saturates instead of trapping.
public struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: UInt64

    /// Creates a timestamp `nanoseconds` after the clock's origin.
    public init(nanoseconds: UInt64) {
        self.nanoseconds = nanoseconds
    }

    /// The origin of the clock.
    public static let zero = Timestamp(nanoseconds: 0)

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }

    /// The timestamp `duration` later; negative durations count as zero and the sum saturates.
    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp {
        let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(rhs.saturatingNanoseconds)
        return Timestamp(nanoseconds: overflow ? .max : sum)
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is not before `self`.
    public func duration(since earlier: Timestamp) -> Duration {
        guard nanoseconds > earlier.nanoseconds else { return .zero }
        return .nanoseconds(Int64(clamping: nanoseconds - earlier.nanoseconds))
    }

    /// Seconds with millisecond precision, for logs: `"12.345s"`.
    public var description: String {
        let millis = nanoseconds / 1_000_000
        let fraction = String(millis % 1000)
        return "\(millis / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)s"
    }
}

extension Duration {
    /// Whole nanoseconds, with negative durations as zero and saturating at `UInt64.max`.
    var saturatingNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 || seconds > 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let fraction = attoseconds / 1_000_000_000
        if fraction < 0 { return whole - UInt64(-fraction) }
        let (sum, sumOverflow) = whole.addingReportingOverflow(UInt64(fraction))
        return sumOverflow ? .max : sum
    }

    /// The shortest exact text among whole hours, minutes, seconds, milliseconds, microseconds or
    /// nanoseconds, as used in election reasons: `"400ms"`, `"5s"`.
    var compactDescription: String {
        let ns = saturatingNanoseconds
        if ns == 0 { return "0s" }
        let units: [(UInt64, String)] = [
            (3_600_000_000_000, "h"), (60_000_000_000, "m"), (1_000_000_000, "s"), (1_000_000, "ms"),
            (1_000, "µs"),
        ]
        for (size, suffix) in units where ns % size == 0 {
            return "\(ns / size)\(suffix)"
        }
        // Measured silences are rarely whole: round to the millisecond for people.
        if ns >= 1_000_000 { return "\((ns + 500_000) / 1_000_000)ms" }
        return "\(ns)ns"
    }
}
