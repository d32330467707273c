import Testing

@testable import WireGuard

/// TAI64N labels (cr.yp.to/libtai/tai64.html) as used in initiations (whitepaper §5.4.2).
@Suite("TAI64N timestamps")
struct TAI64NTests {
    @Test("encodes 2^62 + 10 + seconds and the nanoseconds as 12 big-endian bytes")
    func encoding() {
        let stamp = TAI64N(seconds: 0x4000_0000_6553_f100, nanoseconds: 0x1200_0000)
        #expect(stamp.bytes == [0x40, 0, 0, 0, 0x65, 0x53, 0xf1, 0, 0x12, 0, 0, 0])
        #expect(TAI64N(bytes: stamp.bytes) == stamp)
        // The Unix epoch is TAI64 label 2^62 + 10 (the leap-second offset the reference uses).
        #expect(TAI64N(WallTime(seconds: 0, nanoseconds: 0)).bytes == [0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0])
        #expect(
            TAI64N(WallTime(seconds: 1_767_225_600, nanoseconds: 0)).seconds == 0x4000_0000_0000_000a + 1_767_225_600)
    }

    @Test("parsing needs exactly 12 bytes", arguments: [0, 11, 13])
    func parsingLength(count: Int) {
        #expect(TAI64N(bytes: [UInt8](repeating: 1, count: count)) == nil)
    }

    @Test("nanoseconds are rounded down to 2^24 ns so the timestamp is not a fine clock")
    func whitening() {
        #expect(TAI64N(WallTime(seconds: 5, nanoseconds: 16_777_215)).nanoseconds == 0)
        #expect(TAI64N(WallTime(seconds: 5, nanoseconds: 16_777_216)).nanoseconds == 16_777_216)
        #expect(TAI64N(WallTime(seconds: 5, nanoseconds: 999_999_999)).nanoseconds == 989_855_744)
        #expect(TAI64N(WallTime(seconds: 5, nanoseconds: -1)).nanoseconds == 0)
    }

    static let ordered: [TAI64N] = [
        TAI64N(seconds: 0x4000_0000_0000_0000, nanoseconds: 0),
        TAI64N(seconds: 0x4000_0000_0000_0000, nanoseconds: 1),
        TAI64N(seconds: 0x4000_0000_0000_0000, nanoseconds: 999_999_999),
        TAI64N(seconds: 0x4000_0000_0000_0001, nanoseconds: 0),
        TAI64N(seconds: 0x4000_0000_0000_0100, nanoseconds: 5),
        TAI64N(seconds: 0x4000_0001_0000_0000, nanoseconds: 0),
    ]

    @Test("ordering is by seconds then nanoseconds, and agrees with comparing the encoded bytes")
    func ordering() {
        for (i, x) in Self.ordered.enumerated() {
            for (j, y) in Self.ordered.enumerated() {
                #expect((x < y) == (i < j), "\(i) vs \(j)")
                #expect((x == y) == (i == j))
                #expect(x.bytes.lexicographicallyPrecedes(y.bytes) == (i < j), "bytes \(i) vs \(j)")
            }
        }
    }

    @Test("later wall times never give smaller timestamps")
    func monotonic() {
        var previous = TAI64N(WallTime(seconds: 100, nanoseconds: 0))
        for step in 1...200 {
            let wall = WallTime(seconds: 100 + Int64(step / 100), nanoseconds: Int32(step % 100) * 10_000_000)
            let next = TAI64N(wall)
            #expect(previous <= next)
            previous = next
        }
    }

    @Test("nextWhitened is one whitening step later, carrying into the seconds")
    func nextWhitened() {
        let t = TAI64N(WallTime(seconds: 100, nanoseconds: 5_000_000))
        #expect(t.nextWhitened > t)
        #expect(t.nextWhitened.nanoseconds == t.nanoseconds + 0x100_0000)
        let late = TAI64N(seconds: 7, nanoseconds: 999_000_000 & ~UInt32(0xff_ffff))
        #expect(late.nextWhitened == TAI64N(seconds: 8, nanoseconds: 0))
    }
}
