import NetworkTypes
import Testing

@Suite("IPv4Address")
struct IPv4AddressTests {
    @Test(
        "parses strict dotted quads into host-byte-order values",
        arguments: [
            ("0.0.0.0", 0x0000_0000),
            ("10.0.0.1", 0x0A00_0001),
            ("192.168.1.20", 0xC0A8_0114),
            ("255.255.255.255", 0xFFFF_FFFF),
            ("1.2.3.4", 0x0102_0304),
            ("100.64.0.0", 0x6440_0000),
        ] as [(String, UInt32)]
    )
    func parsesValid(text: String, value: UInt32) throws {
        let address = try #require(IPv4Address(text))
        #expect(address.value == value)
        #expect(address.description == text)
    }

    @Test(
        "rejects malformed dotted quads",
        arguments: [
            "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "01.2.3.4", "1.2.3.04", "00.0.0.0",
            "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "+1.2.3.4", "-1.2.3.4", "1.2.3.a",
            "1234.1.1.1", "0x1.2.3.4", "1.2.3.4/32", "::1", "1.2.3.4:80", "１.2.3.4",
        ]
    )
    func rejectsInvalid(text: String) {
        #expect(IPv4Address(text) == nil, "\(text) should not parse")
    }

    @Test("builds the same value from octets as from text")
    func octetInitializer() {
        let address = IPv4Address(10, 0, 0, 1)
        #expect(address.value == 0x0A00_0001)
        #expect(address == IPv4Address("10.0.0.1"))
        #expect(address.octets == (10, 0, 0, 1))
        #expect(IPv4Address(value: 0xC0A8_0114).description == "192.168.1.20")
    }

    @Test("parses from a Substring")
    func parsesSubstring() {
        let text = "x10.1.2.3y"
        let inner = text.dropFirst().dropLast()
        #expect(IPv4Address(inner) == IPv4Address(10, 1, 2, 3))
    }

    @Test("orders numerically")
    func ordering() {
        #expect(IPv4Address(9, 255, 255, 255) < IPv4Address(10, 0, 0, 0))
        #expect(IPv4Address(10, 0, 0, 2) > IPv4Address(10, 0, 0, 1))
        #expect(!(IPv4Address(1, 1, 1, 1) < IPv4Address(1, 1, 1, 1)))
    }
}
