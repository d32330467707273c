import NetworkTypes
import Testing

@Suite("IPAddress")
struct IPAddressTests {
    @Test("parses either family and reports its width")
    func parsesBothFamilies() throws {
        let v4 = try #require(IPAddress("10.0.0.1"))
        #expect(v4 == .v4(IPv4Address(10, 0, 0, 1)))
        #expect(v4.isV4)
        #expect(v4.bitLength == 32)
        #expect(v4.description == "10.0.0.1")

        let v6 = try #require(IPAddress("FD00::0001"))
        #expect(v6 == .v6(IPv6Address(high: 0xfd00 << 48, low: 1)))
        #expect(!v6.isV4)
        #expect(v6.bitLength == 128)
        #expect(v6.description == "fd00::1")
    }

    @Test("rejects text that is neither family", arguments: ["", "localhost", "1.2.3", "1::2::3", "10.0.0.0/8"])
    func rejectsInvalid(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test("orders IPv4 before IPv6, then numerically")
    func ordering() throws {
        let addresses = try ["::1", "255.255.255.255", "::", "0.0.0.0", "10.0.0.1"].map {
            try #require(IPAddress($0))
        }
        #expect(addresses.sorted().map(\.description) == ["0.0.0.0", "10.0.0.1", "255.255.255.255", "::", "::1"])
    }
}
