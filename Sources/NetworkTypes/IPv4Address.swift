/// An IPv4 address held as a 32-bit integer in host byte order, so `10.0.0.1` is `0x0A00_0001`.
///
/// Parsing accepts only the strict dotted-quad form (RFC 6943 §3.1.1 "dotted decimal"): exactly four
/// decimal octets from 0 to 255, with no leading zeros (they are ambiguous, as some parsers read them as
/// octal) and no shorthand such as `10.1`.
public struct IPv4Address: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The address as a host-byte-order integer; the first octet is the most significant byte.
    public var value: UInt32

    /// Creates an address from its host-byte-order integer value.
    public init(value: UInt32) {
        self.value = value
    }

    /// Creates an address from its four octets, most significant first: `IPv4Address(10, 0, 0, 1)`.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self.value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses a strict dotted quad such as `"192.168.1.20"`; returns `nil` for anything else.
    public init?(_ text: some StringProtocol) {
        guard let value = Self.parse(utf8: text.utf8) else { return nil }
        self.value = value
    }

    /// The four octets, most significant first.
    public var octets: (UInt8, UInt8, UInt8, UInt8) {
        (
            UInt8(truncatingIfNeeded: value >> 24), UInt8(truncatingIfNeeded: value >> 16),
            UInt8(truncatingIfNeeded: value >> 8), UInt8(truncatingIfNeeded: value)
        )
    }

    /// The dotted-quad form, for example `"10.0.0.1"`.
    public var description: String {
        let (a, b, c, d) = octets
        return "\(a).\(b).\(c).\(d)"
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool {
        lhs.value < rhs.value
    }

    /// Parses a strict dotted quad from UTF-8 bytes. Shared with the IPv6 parser for embedded IPv4 tails.
    static func parse(utf8 bytes: some Sequence<UInt8>) -> UInt32? {
        var result: UInt32 = 0
        var completedOctets = 0
        var octet: UInt32 = 0
        var digits = 0
        for byte in bytes {
            if byte == ASCIIText.dot {
                guard digits > 0, completedOctets < 3 else { return nil }
                result = result << 8 | octet
                completedOctets += 1
                octet = 0
                digits = 0
            } else if byte >= ASCIIText.zero && byte <= ASCIIText.nine {
                // A second digit after a lone "0" is a leading zero.
                guard !(digits == 1 && octet == 0) else { return nil }
                octet = octet * 10 + UInt32(byte - ASCIIText.zero)
                digits += 1
                guard octet <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, completedOctets == 3 else { return nil }
        return result << 8 | octet
    }
}
