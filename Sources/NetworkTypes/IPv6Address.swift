/// An IPv6 address held as two 64-bit halves in network order: `high` holds bytes 0-7 and `low` holds
/// bytes 8-15, each read big-endian, so `fd00::1` has `high == 0xfd00_0000_0000_0000` and `low == 1`.
///
/// Parsing accepts the text forms of RFC 4291 §2.2: eight groups of one to four hex digits (either
/// case), at most one `::` standing for one or more zero groups, and an optional dotted-quad IPv4 tail
/// in place of the last two groups (`::ffff:192.0.2.1`). Zone identifiers (`%eth0`) are rejected.
///
/// `description` is the RFC 5952 §4 canonical form: lower-case hex without leading zeros, the longest
/// run of two or more zero groups compressed to `::` (the first one on a tie). IPv4-mapped addresses
/// (`::ffff:0:0/96`) are written with a dotted-quad tail, as RFC 5952 §5 recommends.
public struct IPv6Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Bytes 0-7 of the address, big-endian.
    public var high: UInt64
    /// Bytes 8-15 of the address, big-endian.
    public var low: UInt64

    /// Creates an address from its two big-endian halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates an address from its 16 bytes in network order; returns `nil` unless there are exactly 16.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 {
                high = high << 8 | UInt64(byte)
            } else {
                low = low << 8 | UInt64(byte)
            }
        }
        self.high = high
        self.low = low
    }

    /// Parses an RFC 4291 text form such as `"fd00::1"` or `"::ffff:1.2.3.4"`; returns `nil` otherwise.
    public init?(_ text: some StringProtocol) {
        guard let (high, low) = Self.parse(utf8: Array(text.utf8)) else { return nil }
        self.high = high
        self.low = low
    }

    /// The 16 bytes of the address in network order.
    public var bytes: [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(16)
        for shift in stride(from: 56, through: 0, by: -8) {
            result.append(UInt8(truncatingIfNeeded: high >> UInt64(shift)))
        }
        for shift in stride(from: 56, through: 0, by: -8) {
            result.append(UInt8(truncatingIfNeeded: low >> UInt64(shift)))
        }
        return result
    }

    /// The RFC 5952 canonical text form, for example `"2001:db8::1"`.
    public var description: String {
        if high == 0 && low >> 32 == 0xffff {
            return "::ffff:" + IPv4Address(value: UInt32(truncatingIfNeeded: low)).description
        }
        let groups = self.groups

        // Find the longest run of at least two zero groups; the first wins a tie.
        var bestStart = -1
        var bestLength = 1
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            let start = index
            while index < 8 && groups[index] == 0 { index += 1 }
            if index - start > bestLength {
                bestStart = start
                bestLength = index - start
            }
        }

        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    /// The eight 16-bit groups, first group first.
    private var groups: [UInt16] {
        (0..<8).map { index in
            let half = index < 4 ? high : low
            return UInt16(truncatingIfNeeded: half >> UInt64(48 - 16 * (index % 4)))
        }
    }

    /// Parses the RFC 4291 text forms from UTF-8 bytes into the two big-endian halves.
    private static func parse(utf8 bytes: [UInt8]) -> (high: UInt64, low: UInt64)? {
        var head: [UInt16] = []  // groups before "::" (or all of them if there is no "::")
        var tail: [UInt16] = []  // groups after "::"
        var sawDoubleColon = false
        var index = 0
        let end = bytes.count
        guard end > 0 else { return nil }

        if bytes[0] == ASCIIText.colon {
            // A leading colon is only valid as part of a leading "::".
            guard end > 1, bytes[1] == ASCIIText.colon else { return nil }
            sawDoubleColon = true
            index = 2
        }

        while index < end {
            let start = index
            while index < end && bytes[index] != ASCIIText.colon { index += 1 }
            let piece = bytes[start..<index]

            if piece.contains(ASCIIText.dot) {
                // An embedded IPv4 address must be the final piece and counts as two groups.
                guard index == end, let v4 = IPv4Address.parse(utf8: piece) else { return nil }
                let pair = [UInt16(truncatingIfNeeded: v4 >> 16), UInt16(truncatingIfNeeded: v4)]
                if sawDoubleColon { tail += pair } else { head += pair }
                break
            }

            guard let group = parseGroup(piece) else { return nil }
            if sawDoubleColon { tail.append(group) } else { head.append(group) }
            guard head.count + tail.count <= 8 else { return nil }

            if index == end { break }
            index += 1  // skip the ":" that ended this group
            if index == end { return nil }  // a trailing single ":"
            if bytes[index] == ASCIIText.colon {
                guard !sawDoubleColon else { return nil }  // a second "::"
                sawDoubleColon = true
                index += 1
            }
        }

        let explicitGroups = head.count + tail.count
        if sawDoubleColon {
            guard explicitGroups <= 7 else { return nil }
        } else {
            guard explicitGroups == 8 else { return nil }
        }
        let groups = head + Array(repeating: 0, count: 8 - explicitGroups) + tail
        var high: UInt64 = 0
        var low: UInt64 = 0
        for group in groups[0..<4] { high = high << 16 | UInt64(group) }
        for group in groups[4..<8] { low = low << 16 | UInt64(group) }
        return (high, low)
    }

    /// Parses one group of one to four hex digits.
    private static func parseGroup(_ piece: ArraySlice<UInt8>) -> UInt16? {
        guard !piece.isEmpty, piece.count <= 4 else { return nil }
        var value: UInt16 = 0
        for byte in piece {
            guard let digit = ASCIIText.hexDigitValue(byte) else { return nil }
            value = value << 4 | UInt16(digit)
        }
        return value
    }
}
