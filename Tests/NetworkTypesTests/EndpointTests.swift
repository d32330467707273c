import NetworkTypes
import Testing

@Suite("Endpoint")
struct EndpointTests {
    @Test(
        "round-trips IPv4 and bracketed IPv6 endpoints",
        arguments: [
            "1.2.3.4:51820", "0.0.0.0:0", "255.255.255.255:65535", "[fd00::1]:51820", "[::]:0",
            "[::ffff:1.2.3.4]:443", "[2001:db8::1:0:0:1]:65535",
        ]
    )
    func roundTrips(text: String) throws {
        let endpoint = try #require(Endpoint(text))
        #expect(endpoint.description == text)
        #expect(Endpoint(endpoint.description) == endpoint)
    }

    @Test("parses the address and the port")
    func parsesParts() throws {
        let v4 = try #require(Endpoint("10.0.0.1:51820"))
        #expect(v4.address == .v4(IPv4Address(10, 0, 0, 1)))
        #expect(v4.port == 51820)

        let v6 = try #require(Endpoint("[FD00:0::1]:8080"))
        #expect(v6.address == .v6(IPv6Address(high: 0xfd00 << 48, low: 1)))
        #expect(v6.port == 8080)
        #expect(v6.description == "[fd00::1]:8080")
        #expect(Endpoint(address: v6.address, port: 1).description == "[fd00::1]:1")
    }

    @Test(
        "rejects malformed endpoints",
        arguments: [
            "", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "1.2.3.4:051820", "1.2.3.4:80:80",
            "1.2.3:80", "fd00::1:51820", "::1:80", "[fd00::1]", "[fd00::1]:", "[fd00::1]51820",
            "[fd00::1]:99999", "[1.2.3.4]:80", "[fd00::1:80", "fd00::1]:80", "example.com:80",
            "[fe80::1%eth0]:80", " 1.2.3.4:80", "1.2.3.4:80 ", "1.2.3.4:+80",
        ]
    )
    func rejectsInvalid(text: String) {
        #expect(Endpoint(text) == nil, "\(text) should not parse")
    }
}
