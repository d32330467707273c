import Foundation
import GatewayConfig
import NetworkTypes
import Testing

@Suite("Configuration: group membership and limits")
struct MembershipAndLimitsTests {
    static let sharedPeers = """
        peers:
          - name: gw-nyc1-a
            public_key: \(ConfigFixtures.key(3))
            overlay_address: 100.64.0.1
            group: nyc1
          - name: gw-nyc1-b
            public_key: \(ConfigFixtures.key(1))
            overlay_address: 100.64.0.2
            group: nyc1
          - name: gw-fsn1-a
            public_key: \(ConfigFixtures.key(2))
            overlay_address: 100.64.0.3
            group: fsn1
        """

    func errors(_ yaml: String) -> [String] {
        switch GatewayConfiguration.parse(yaml: yaml) {
        case .success: []
        case .failure(let list): list.errors.map(\.description)
        }
    }

    @Test("each peer's group is read; a group's members are the peers declaring it and this node")
    func members() throws {
        let configuration = try GatewayConfiguration.parse(yaml: ConfigFixtures.config(peers: Self.sharedPeers)).get()
        #expect(configuration.members(of: "nyc1") == ["gw-nyc1-a", "gw-nyc1-b"])
        #expect(configuration.members(of: "fsn1") == ["gw-fsn1-a"])
        #expect(configuration.peerGroups == ["gw-nyc1-b": "nyc1", "gw-fsn1-a": "fsn1"])
    }

    @Test("this node's own entry must declare the group its ha section names")
    func ownEntryGroup() {
        let wrong = Self.sharedPeers.replacingOccurrences(
            of: "overlay_address: 100.64.0.1\n    group: nyc1", with: "overlay_address: 100.64.0.1\n    group: fsn1")
        let found = errors(ConfigFixtures.config(peers: wrong))
        #expect(found.count == 1)
        #expect(found.first?.contains("peers[0].group") == true, "\(found)")
    }

    @Test("limits default to 256 routes, /28 and /64, and are read when given")
    func limits() throws {
        let defaults = try GatewayConfiguration.parse(yaml: ConfigFixtures.config()).get()
        #expect(defaults.limits == .standard)
        let yaml = ConfigFixtures.config(
            extra: "limits:\n  max_routes_per_peer: 10\n  max_prefix_length_ipv4: 32\n  max_prefix_length_ipv6: 128")
        let set = try GatewayConfiguration.parse(yaml: yaml).get()
        #expect(set.limits == .init(maxRoutesPerPeer: 10, maxPrefixLengthIPv4: 32, maxPrefixLengthIPv6: 128))
    }

    @Test(
        "limits out of range, and an advertise list the limits would refuse, are errors naming the key",
        arguments: [
            ("limits:\n  max_routes_per_peer: 0", "limits.max_routes_per_peer"),
            ("limits:\n  max_prefix_length_ipv4: 33", "limits.max_prefix_length_ipv4"),
            ("limits:\n  max_prefix_lenght_ipv6: 64", "limits.max_prefix_length_ipv6"),
            ("limits:\n  max_prefix_length_ipv4: 16", "advertise[0]"),
        ])
    func badLimits(extra: String, key: String) {
        let found = errors(ConfigFixtures.config(extra: extra))
        #expect(found.contains { $0.contains(key) }, "\(found)")
    }

    @Test("a subnet inside an earlier one is an overlap naming the earlier one")
    func insideEarlier() {
        let found = errors(ConfigFixtures.config(advertise: "advertise: [10.10.0.0/16, 10.10.10.0/24]"))
        #expect(
            found.contains { $0.hasPrefix("advertise[1]: 10.10.10.0/24 overlaps advertise[0] (10.10.0.0/16)") },
            "\(found)")
    }

    @Test("32,768 distinct subnets validate, and one overlap among them is found")
    func manySubnets() throws {
        var prefixes = (0..<32_768).map { "10.\($0 >> 8).\($0 & 255).0/24" }
        prefixes[0] = "10.0.0.0/24"
        let limits = "limits:\n  max_routes_per_peer: 65535\n"
        let yaml = ConfigFixtures.config(advertise: "advertise: [\(prefixes.joined(separator: ", "))]", extra: limits)
        #expect(errors(yaml).isEmpty)
        prefixes.append("10.127.0.0/16")
        let overlapping = ConfigFixtures.config(
            advertise: "advertise: [\(prefixes.joined(separator: ", "))]", extra: limits)
        let found = errors(overlapping)
        #expect(
            found.count == 1 && found[0].hasPrefix("advertise[32768]: 10.127.0.0/16 overlaps"), "\(found.prefix(3))")
    }
}
