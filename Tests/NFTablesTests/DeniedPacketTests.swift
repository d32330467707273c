import NFTables
import NetworkTypes
import Testing

@Suite struct DeniedPacketTests {
    @Test("an IPv4 TCP packet's addresses and destination port are read from the bytes NFLOG copied")
    func ipv4() throws {
        var packet: [UInt8] = [0x45, 0, 0, 60, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 10, 10, 100, 10, 20, 10, 100]
        packet += [0xC3, 0x50, 0x00, 0x16] + [UInt8](repeating: 0, count: 16)
        let parsed = try #require(DeniedPacket.parse(prefix: "deny forward", packet: packet))
        #expect(parsed.source == IPAddress("10.10.10.100"))
        #expect(parsed.destination == IPAddress("10.20.10.100"))
        #expect(parsed.protocolNumber == 6)
        #expect(parsed.port == 22)
    }

    @Test("a later IPv4 fragment has no port; an IPv6 UDP packet has one; garbage is nil")
    func fragmentsAndIPv6() throws {
        var fragment: [UInt8] = [0x45, 0, 0, 60, 0, 0, 0x00, 0x10, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
        fragment += [0, 53, 0, 53]
        #expect(try #require(DeniedPacket.parse(prefix: "p", packet: fragment)).port == nil)
        var ipv6: [UInt8] = [0x60, 0, 0, 0, 0, 8, 17, 64]
        ipv6 += [0xFD, 0, 0, 0x91] + [UInt8](repeating: 0, count: 11) + [2]
        ipv6 += [0xFD, 0, 0, 0x92] + [UInt8](repeating: 0, count: 11) + [2]
        ipv6 += [0x30, 0x39, 0x01, 0xBB]
        let parsed = try #require(DeniedPacket.parse(prefix: "p", packet: ipv6))
        #expect(parsed.source == IPAddress("fd00:91::2"))
        #expect(parsed.port == 443)
        #expect(DeniedPacket.parse(prefix: "p", packet: [0x45, 0, 0]) == nil)
        #expect(DeniedPacket.parse(prefix: "p", packet: []) == nil)
    }
}
