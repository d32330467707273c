import MeshgateTestSupport
import Testing

@testable import WireGuard

@Suite("Instant, WallTime and Duration helpers")
struct InstantTests {
    @Test("adding a duration moves an instant forward by its nanoseconds; negative durations do nothing")
    func addition() {
        let start = Instant(nanoseconds: 1_000)
        #expect((start + .nanoseconds(5)).nanoseconds == 1_005)
        #expect((start + .seconds(2)).nanoseconds == 2_000_001_000)
        #expect((start + .milliseconds(1_500)).nanoseconds == 1_500_001_000)
        #expect(start + .zero == start)
        #expect(start + .seconds(-3) == start)
    }

    @Test("duration(since:) is the gap to an earlier instant and zero for a later one")
    func durationSince() {
        let early = Instant(nanoseconds: 10)
        let late = Instant(nanoseconds: 3_000_000_010)
        #expect(late.duration(since: early) == .seconds(3))
        #expect(early.duration(since: late) == .zero)
        #expect(late.duration(since: late) == .zero)
        #expect(early < late && !(late < early))
    }

    @Test(
        "whole nanoseconds of a duration, saturating at Int64's range",
        arguments: [
            (Duration.zero, Int64(0)),
            (.nanoseconds(1), 1),
            (.milliseconds(1_500), 1_500_000_000),
            (.seconds(-2), -2_000_000_000),
            (.milliseconds(-1_500), -1_500_000_000),
            (.seconds(Int64.max), .max),
            (.seconds(Int64.min), .min),
            (.seconds(9_223_372_036) + .milliseconds(900), .max),
            (.seconds(-9_223_372_036) - .milliseconds(900), .min),
        ])
    func nanosecondsClamped(duration: Duration, expected: Int64) {
        #expect(duration.nanosecondsClamped == expected)
    }

    @Test("wall times order by seconds then nanoseconds")
    func wallOrdering() {
        #expect(WallTime(seconds: 1, nanoseconds: 999) < WallTime(seconds: 2, nanoseconds: 0))
        #expect(WallTime(seconds: 2, nanoseconds: 1) > WallTime(seconds: 2, nanoseconds: 0))
        #expect(WallTime(seconds: 2, nanoseconds: 0) == WallTime(seconds: 2, nanoseconds: 0))
    }

    @Test("the manual clock moves both readings together and carries nanoseconds into seconds")
    func manualClock() {
        let clock = ManualClock(monotonicSeconds: 10, wallSeconds: 100)
        clock.advance(by: .milliseconds(1_700))
        clock.advance(by: .milliseconds(400))
        #expect(clock.now.monotonic == Instant(nanoseconds: 12_100_000_000))
        #expect(clock.now.wall == WallTime(seconds: 102, nanoseconds: 100_000_000))
        clock.advance(to: Instant(nanoseconds: 1))
        #expect(clock.now.monotonic == Instant(nanoseconds: 12_100_000_000), "never backwards")
    }
}
