import NetworkTypes
import Testing

@Suite("IPv6Address")
struct IPv6AddressTests {
    @Test(
        "parses RFC 4291 text forms into big-endian halves",
        arguments: [
            ("::", 0, 0),
            ("::1", 0, 1),
            ("1::", 0x0001_0000_0000_0000, 0),
            ("fd00::1", 0xfd00_0000_0000_0000, 1),
            ("FD00::1", 0xfd00_0000_0000_0000, 1),
            ("2001:db8:0:0:1:0:0:1", 0x2001_0db8_0000_0000, 0x0001_0000_0000_0001),
            ("2001:0db8:0000:0000:0001:0000:0000:0001", 0x2001_0db8_0000_0000, 0x0001_0000_0000_0001),
            ("1:2:3:4:5:6:7:8", 0x0001_0002_0003_0004, 0x0005_0006_0007_0008),
            ("1:2:3:4:5:6:7::", 0x0001_0002_0003_0004, 0x0005_0006_0007_0000),
            ("::2:3:4:5:6:7:8", 0x0000_0002_0003_0004, 0x0005_0006_0007_0008),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", UInt64.max, UInt64.max),
            ("::ffff:1.2.3.4", 0, 0x0000_ffff_0102_0304),
            ("::1.2.3.4", 0, 0x0000_0000_0102_0304),
            ("64:ff9b::192.0.2.33", 0x0064_ff9b_0000_0000, 0x0000_0000_c000_0221),
            ("1:2:3:4:5:6:1.2.3.4", 0x0001_0002_0003_0004, 0x0005_0006_0102_0304),
            ("fe80::1:2", 0xfe80_0000_0000_0000, 0x0000_0000_0001_0002),
        ] as [(String, UInt64, UInt64)]
    )
    func parsesValid(text: String, high: UInt64, low: UInt64) throws {
        let address = try #require(IPv6Address(text))
        #expect(address.high == high)
        #expect(address.low == low)
    }

    @Test(
        "rejects malformed text",
        arguments: [
            "", ":", ":::", "1::2::3", "::1::", ":1::2", "1::2:", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::", "g::1", "1.2.3.4", "::1.2.3.4:5",
            "::1.2.3", "::256.1.1.1", "::01.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "fe80::1%eth0", "[::1]",
            " ::1", "::1 ", "1:::2", "::ffff:1.2.3.4.5", "1:2:3:4:5:6:7:8:", ":1:2:3:4:5:6:7:8",
        ]
    )
    func rejectsInvalid(text: String) {
        #expect(IPv6Address(text) == nil, "\(text) should not parse")
    }

    @Test(
        "formats in RFC 5952 canonical form",
        arguments: [
            ("::", "::"),
            ("::1", "::1"),
            ("1::", "1::"),
            ("0:0:0:0:0:0:0:1", "::1"),
            ("2001:DB8::1", "2001:db8::1"),
            ("2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"),
            // A single zero group is not compressed (§4.2.2).
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            // The longest run wins (§4.2.3).
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
            // The first run wins a tie (§4.2.3).
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
            ("0:0:1:0:0:0:0:0", "0:0:1::"),
            ("0:0:1:2:3:4:5:6", "::1:2:3:4:5:6"),
            ("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"),
            ("fd00:00ab:0cde:f000::", "fd00:ab:cde:f000::"),
            // IPv4-mapped addresses use a dotted-quad tail (§5).
            ("::ffff:c000:0280", "::ffff:192.0.2.128"),
            ("::ffff:0:0", "::ffff:0.0.0.0"),
            // Other embedded forms print as plain hex.
            ("::1.2.3.4", "::102:304"),
            ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ]
    )
    func formatsCanonically(input: String, expected: String) throws {
        let address = try #require(IPv6Address(input))
        #expect(address.description == expected)
        #expect(IPv6Address(expected) == address, "the canonical form must parse back to the same address")
    }

    @Test("converts to and from 16 network-order bytes")
    func bytesRoundTrip() throws {
        let bytes: [UInt8] = [0xfd, 0x00, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd, 0x00, 0x01]
        let address = try #require(IPv6Address(bytes: bytes))
        #expect(address.high == 0xfd00_1234_0000_0000)
        #expect(address.low == 0x0000_0000_abcd_0001)
        #expect(address.bytes == bytes)
        #expect(address.description == "fd00:1234::abcd:1")
        #expect(IPv6Address(bytes: bytes[0..<16]) == address)
    }

    @Test("rejects byte collections that are not 16 bytes long", arguments: [0, 4, 15, 17])
    func rejectsWrongByteCount(count: Int) {
        #expect(IPv6Address(bytes: [UInt8](repeating: 1, count: count)) == nil)
    }

    @Test("orders by the high half, then the low half")
    func ordering() throws {
        let a = try #require(IPv6Address("::ffff"))
        let b = try #require(IPv6Address("::1:0"))
        let c = try #require(IPv6Address("1::"))
        #expect(a < b)
        #expect(b < c)
        #expect(!(c < c))
    }
}
