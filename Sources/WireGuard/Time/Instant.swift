/// A point on a monotonic clock that keeps counting while the machine is suspended (`CLOCK_BOOTTIME`).
///
/// The engine never reads a clock; callers pass readings in, so tests drive time by hand.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since an arbitrary origin fixed for the life of the process.
    public var nanoseconds: UInt64

    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &+ UInt64(max(0, rhs.nanosecondsClamped)))
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    public func duration(since earlier: Instant) -> Duration {
        guard nanoseconds > earlier.nanoseconds else { return .zero }
        return .nanoseconds(Int64(clamping: nanoseconds - earlier.nanoseconds))
    }

    public var description: String { "Instant(\(nanoseconds)ns)" }
}

/// Wall-clock time (`CLOCK_REALTIME`), used only for TAI64N handshake timestamps and `wg show`.
public struct WallTime: Sendable, Hashable, Comparable {
    public var seconds: Int64
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static func < (lhs: WallTime, rhs: WallTime) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }
}

/// One reading of both clocks, handed to every engine call that may need the time.
public struct Moment: Sendable, Hashable {
    public var monotonic: Instant
    public var wall: WallTime

    public init(monotonic: Instant, wall: WallTime) {
        self.monotonic = monotonic
        self.wall = wall
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at Int64's range.
    var nanosecondsClamped: Int64 {
        let (s, a) = components
        let (m, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? .min : .max }
        let (sum, sumOverflow) = m.addingReportingOverflow(a / 1_000_000_000)
        if sumOverflow { return s < 0 ? .min : .max }
        return sum
    }
}
