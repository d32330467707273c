import Testing

@testable import NFTables

@Suite("MSSClampRuleset")
struct MSSClampRulesetTests {
    @Test("a 1280-byte overlay clamps IPv4 to 1240 and IPv6 to 1220")
    func overlayMTU1280() throws {
        let ruleset = try MSSClampRuleset.forOverlay(interface: "mg0", mtu: 1280)
        #expect(
            ruleset == MSSClampRuleset(tableName: "meshgate", overlayInterface: "mg0", ipv4MSS: 1240, ipv6MSS: 1220))
    }

    @Test(
        "the MSS is the MTU less the IP and TCP headers",
        arguments: [(576, 536, 516), (1420, 1380, 1360), (65535, 65495, 65475)])
    func mssFollowsMTU(mtu: Int, ipv4: UInt16, ipv6: UInt16) throws {
        let ruleset = try MSSClampRuleset.forOverlay(interface: "mg0", mtu: mtu, tableName: "custom")
        #expect((ruleset.tableName, ruleset.ipv4MSS, ruleset.ipv6MSS) == ("custom", ipv4, ipv6))
    }

    @Test("an MTU outside 576...65535 is refused", arguments: [0, 60, 575, 65536])
    func mtuOutOfRange(mtu: Int) {
        #expect(throws: NFTablesError.mtuOutOfRange(mtu)) { try MSSClampRuleset.forOverlay(interface: "mg0", mtu: mtu) }
    }

    @Test(
        "interface names the kernel would refuse are refused",
        arguments: ["", "sixteen-bytes-xx", "a/b", "a:b", "a b", "tab\t", ".", ".."])
    func invalidInterfaceName(name: String) {
        #expect(throws: NFTablesError.invalidInterfaceName(name)) {
            try MSSClampRuleset.forOverlay(interface: name, mtu: 1280)
        }
    }

    @Test("an interface name with a NUL byte is refused")
    func interfaceNameWithNUL() {
        let name = "ovl\u{0}x"
        #expect(throws: NFTablesError.invalidInterfaceName(name)) {
            try MSSClampRuleset.forOverlay(interface: name, mtu: 1280)
        }
    }

    @Test("a 15-byte interface name is accepted and padded to IFNAMSIZ")
    func longestInterfaceName() throws {
        let ruleset = try MSSClampRuleset.forOverlay(interface: "fifteen-bytes-x", mtu: 1280)
        #expect(MSSClampRuleset.interfaceNameBytes(ruleset.overlayInterface) == Array("fifteen-bytes-x".utf8) + [0])
    }

    @Test("empty and over-long table names are refused", arguments: ["", String(repeating: "t", count: 256)])
    func invalidTableName(name: String) {
        #expect(throws: NFTablesError.invalidTableName(name)) {
            try MSSClampRuleset.forOverlay(interface: "mg0", mtu: 1280, tableName: name)
        }
    }

    @Test("a zero MSS is refused")
    func zeroMSS() {
        let ruleset = MSSClampRuleset(overlayInterface: "mg0", ipv4MSS: 0, ipv6MSS: 1220)
        #expect(throws: NFTablesError.invalidMSS(0)) { try ruleset.validate() }
    }

    @Test("the IPv4 rule into the overlay is the expression list nft compiles")
    func ipv4IntoOverlayExpressions() throws {
        let ruleset = try MSSClampRuleset.forOverlay(interface: "ovl0", mtu: 1280)
        // nft --debug=netlink: oifname "ovl0" meta nfproto ipv4 tcp flags & (syn|rst) == syn
        //                      tcp option maxseg size > 1240 counter tcp option maxseg size set 1240
        let expected: [RuleExpression] = [
            .metaLoad(.outputInterfaceName),
            .compare(.equal, Array("ovl0".utf8) + Array(repeating: 0, count: 12)),
            .metaLoad(.netfilterProtocol), .compare(.equal, [2]),
            .metaLoad(.layer4Protocol), .compare(.equal, [6]),
            .transportHeaderLoad(offset: 13, length: 1), .bitwise(mask: [0x06], xor: [0x00]), .compare(.equal, [0x02]),
            .tcpOptionLoad(kind: 2, offset: 2, length: 2), .compare(.greaterThan, [0x04, 0xD8]),
            .counter,
            .immediate([0x04, 0xD8]), .tcpOptionWrite(kind: 2, offset: 2, length: 2),
        ]
        #expect(ruleset.clampRule(direction: .intoOverlay, family: .ipv4) == expected)
    }

    @Test("four rules: each family in each direction, each with one counter")
    func ruleCoverage() throws {
        let ruleset = try MSSClampRuleset.forOverlay(interface: "ovl0", mtu: 1280)
        let rules = ruleset.rules
        #expect(rules.count == 4)
        #expect(
            rules.map { $0[0] } == [
                .metaLoad(.outputInterfaceName), .metaLoad(.inputInterfaceName),
                .metaLoad(.outputInterfaceName), .metaLoad(.inputInterfaceName),
            ])
        #expect(
            rules.map { $0[3] } == [
                .compare(.equal, [2]), .compare(.equal, [2]), .compare(.equal, [10]), .compare(.equal, [10]),
            ])
        // 1220 = 0x04C4 for IPv6.
        #expect(
            rules.map { $0.last(where: { if case .immediate = $0 { true } else { false } }) } == [
                .immediate([0x04, 0xD8]), .immediate([0x04, 0xD8]), .immediate([0x04, 0xC4]), .immediate([0x04, 0xC4]),
            ])
        #expect(rules.allSatisfy { $0.filter { $0 == .counter }.count == 1 })
    }

    @Test("the table comment is stored as nft's user-data TLV with its NUL")
    func commentUserData() {
        #expect(NetlinkBatch.commentUserData("ab") == [0, 3, UInt8(ascii: "a"), UInt8(ascii: "b"), 0])
    }
}
