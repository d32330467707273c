public import WireGuard

/// A clock that moves only when a test says so: both the monotonic and the wall reading advance together.
public final class ManualClock: @unchecked Sendable {
    public private(set) var now: Moment

    /// Starts at an arbitrary but fixed point (monotonic 1000 s; wall 2026-01-01T00:00:00Z).
    public init(monotonicSeconds: UInt64 = 1000, wallSeconds: Int64 = 1_767_225_600) {
        self.now = Moment(
            monotonic: Instant(nanoseconds: monotonicSeconds * 1_000_000_000),
            wall: WallTime(seconds: wallSeconds, nanoseconds: 0))
    }

    /// Moves both clocks forward by `duration`.
    public func advance(by duration: Duration) {
        let (s, atto) = duration.components
        let ns = UInt64(s) * 1_000_000_000 + UInt64(atto / 1_000_000_000)
        now.monotonic = Instant(nanoseconds: now.monotonic.nanoseconds + ns)
        var wallNs = Int64(now.wall.nanoseconds) + Int64(ns % 1_000_000_000)
        var wallS = now.wall.seconds + Int64(ns / 1_000_000_000)
        if wallNs >= 1_000_000_000 {
            wallNs -= 1_000_000_000
            wallS += 1
        }
        now.wall = WallTime(seconds: wallS, nanoseconds: Int32(wallNs))
    }

    /// Steps the wall clock alone by `seconds` (either way), as `date -s` does; the monotonic clock stays.
    public func stepWall(bySeconds seconds: Int64) {
        now.wall = WallTime(seconds: now.wall.seconds + seconds, nanoseconds: now.wall.nanoseconds)
    }

    /// Moves the monotonic clock to `instant` (no-op if it is in the past).
    public func advance(to instant: Instant) {
        guard instant > now.monotonic else { return }
        advance(by: instant.duration(since: now.monotonic))
    }
}
