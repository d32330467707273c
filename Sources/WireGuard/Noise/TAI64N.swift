/// TAI64N timestamps (cr.yp.to/libtai/tai64.html) as carried in handshake initiations (whitepaper §5.4.2).
///
/// 12 bytes: big-endian 2^62 + seconds, then big-endian nanoseconds. The responder accepts an initiation
/// only if its timestamp is greater than every earlier one from that peer, which defeats replay.
public struct TAI64N: Sendable, Hashable, Comparable {
    public static let byteCount = 12
    /// TAI64's label for the epoch.
    static let base: UInt64 = 0x4000_0000_0000_000a

    public var seconds: UInt64
    public var nanoseconds: UInt32

    public init(seconds: UInt64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// The timestamp for `wall`, with the nanoseconds rounded down to about 16 ms so the value does not
    /// act as a precise clock fingerprint (as wireguard-go's whitening does).
    public init(_ wall: WallTime) {
        self.seconds = TAI64N.base &+ UInt64(bitPattern: wall.seconds)
        self.nanoseconds = UInt32(max(0, wall.nanoseconds)) & ~UInt32(0xff_ffff)
    }

    /// The next whitened value after this one (one whitening step, about 16 ms, later).
    public var nextWhitened: TAI64N {
        let step = UInt32(0x100_0000)
        let n = UInt64(nanoseconds & ~(step - 1)) + UInt64(step)
        return n >= 1_000_000_000
            ? TAI64N(seconds: seconds &+ 1, nanoseconds: 0) : TAI64N(seconds: seconds, nanoseconds: UInt32(n))
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == TAI64N.byteCount else { return nil }
        let b = Array(bytes)
        var s: UInt64 = 0
        for i in 0..<8 { s = s << 8 | UInt64(b[i]) }
        var n: UInt32 = 0
        for i in 8..<12 { n = n << 8 | UInt32(b[i]) }
        self.init(seconds: s, nanoseconds: n)
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(12)
        for i in (0..<8).reversed() { out.append(UInt8(truncatingIfNeeded: seconds >> (8 * UInt64(i)))) }
        for i in (0..<4).reversed() { out.append(UInt8(truncatingIfNeeded: nanoseconds >> (8 * UInt32(i)))) }
        return out
    }

    public static func < (lhs: TAI64N, rhs: TAI64N) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }
}
