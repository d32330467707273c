import CryptoPrimitives
import GatewayConfig
import NetworkTypes
import Testing

@Suite("Configuration parsing")
struct GatewayConfigurationParsingTests {
    func parse(_ yaml: String) -> Result<GatewayConfiguration, ConfigErrorList> {
        GatewayConfiguration.parse(yaml: yaml)
    }

    func errors(_ yaml: String) -> [ConfigError] {
        switch parse(yaml) {
        case .success: []
        case .failure(let list): list.errors
        }
    }

    @Test("the example from the issue parses, with defaults for what it leaves out")
    func issueExample() throws {
        let configuration = try parse(ConfigFixtures.issueExample).get()
        #expect(configuration.node.name == "gw-nyc1-a")
        #expect(configuration.node.privateKeyFile == "/etc/meshgate/private.key")
        #expect(configuration.overlay.interface == "mg0")
        #expect(configuration.overlay.address == IPAddress("100.64.0.1"))
        #expect(configuration.overlay.listenPort == 51820)
        #expect(configuration.overlay.mtuBytes == 1280)
        #expect(configuration.advertise == [IPPrefix("10.10.10.0/24")])
        #expect(configuration.allowPublicSubnets == false)
        let ha = try #require(configuration.ha)
        #expect(ha.group == "nyc1")
        #expect(ha.priority == 200)
        #expect(ha.preempt == false)
        #expect(ha.preemptDelay == .zero)
        #expect(ha.stepDownHold == .seconds(10))
        #expect(ha.lan.interface == "eth1")
        #expect(ha.lan.virtualIP.description == "10.10.10.1/24")
        #expect(configuration.peers.count == 1)
        let peer = try #require(configuration.peers.first)
        #expect(peer.name == "gw-fsn1-a")
        #expect(peer.publicKey.base64 == ConfigFixtures.key(1))
        #expect(peer.endpoint == Endpoint("198.51.100.7:51820"))
        #expect(peer.overlayAddress == IPAddress("100.64.0.3"))
        #expect(peer.persistentKeepalive == .seconds(25))
        #expect(peer.keyExpires == nil)
        #expect(configuration.control.socket == "/run/meshgate/control.sock")
        #expect(configuration.metrics == nil)
        #expect(configuration.timers.helloInterval == .milliseconds(100))
        #expect(configuration.timers.deadInterval == .milliseconds(400))
        #expect(configuration.timers.advertiseInterval == .seconds(5))
        #expect(configuration.timers.routeExpiry == .seconds(15))
        #expect(configuration.kernel.routeTable == 254)
        #expect(configuration.kernel.routeMetric == 0)
        #expect(configuration.peerOverlayAddresses == ["gw-fsn1-a": IPAddress("100.64.0.3")!])
    }

    @Test("every optional key is read")
    func everyKey() throws {
        let yaml = ConfigFixtures.config(
            overlay: """
                overlay:
                  interface: mg0
                  address: fd00:64::1
                  listen_port: 51000
                  mtu: 1420
                """,
            advertise: "advertise: [10.10.10.0/24, 'fd00:10::/48', 198.51.100.0/24]\nallow_public_subnets: true",
            ha: """
                ha:
                  group: nyc1
                  priority: 150
                  preempt: true
                  preempt_delay: 5s
                  step_down_hold: 2m
                  lan: {interface: eth1, virtual_ip: 10.10.10.1/24}
                """,
            peers: """
                peers:
                  - name: gw-fsn1-a
                    public_key: \(ConfigFixtures.key(1))
                    overlay_address: fd00:64::3
                    key_expires: 2026-06-01T02:00:00+02:00
                    preshared_key_file: /etc/meshgate/fsn1.psk
                    persistent_keepalive: 0
                """,
            extra: """
                control: {socket: /tmp/mg.sock}
                metrics: {listen: "0.0.0.0:9586"}
                timers:
                  hello_interval: 50ms
                  dead_interval: 200ms
                  advertise_interval: 2s
                  route_expiry: 6s
                kernel:
                  route_table: 100
                  route_metric: 50
                """)
        let configuration = try parse(yaml).get()
        #expect(configuration.overlay.listenPort == 51000)
        #expect(configuration.overlay.mtuBytes == 1420)
        #expect(configuration.advertise.count == 3)
        #expect(configuration.ha?.preempt == true)
        #expect(configuration.ha?.preemptDelay == .seconds(5))
        #expect(configuration.ha?.stepDownHold == .seconds(120))
        let peer = try #require(configuration.peers.first)
        #expect(peer.endpoint == nil)
        #expect(peer.persistentKeepalive == nil)
        #expect(peer.keyExpires?.secondsSince1970 == 1_780_272_000)
        #expect(peer.presharedKeyFile == "/etc/meshgate/fsn1.psk")
        #expect(configuration.control.socket == "/tmp/mg.sock")
        #expect(configuration.metrics?.listen == Endpoint("0.0.0.0:9586"))
        #expect(configuration.timers.helloInterval == .milliseconds(50))
        #expect(configuration.timers.deadInterval == .milliseconds(200))
        #expect(configuration.timers.advertiseInterval == .seconds(2))
        #expect(configuration.timers.routeExpiry == .seconds(6))
        #expect(configuration.kernel.routeTable == 100)
        #expect(configuration.kernel.routeMetric == 50)
        #expect(configuration.peersWithExpiredKeys(atSecondsSince1970: 1_780_271_999).isEmpty)
        #expect(configuration.peersWithExpiredKeys(atSecondsSince1970: 1_780_272_000) == ["gw-fsn1-a"])
    }

    @Test("a gateway without HA, peers or subnets is valid")
    func minimal() throws {
        let configuration = try parse(ConfigFixtures.config(advertise: "", ha: "", peers: "")).get()
        #expect(configuration.ha == nil)
        #expect(configuration.peers.isEmpty)
        #expect(configuration.advertise.isEmpty)
    }

    @Test("a shared peer list may include this node's own entry, which is set aside")
    func ownEntry() throws {
        let peers =
            ConfigFixtures.peers + """

                  - name: gw-nyc1-a
                    public_key: \(ConfigFixtures.key(3))
                    endpoint: 192.0.2.1:51820
                    overlay_address: 100.64.0.1
                """
        let configuration = try parse(ConfigFixtures.config(peers: peers)).get()
        #expect(configuration.peers.map(\.name) == ["gw-nyc1-b", "gw-fsn1-a"])
        #expect(configuration.ownPeerEntry?.publicKey.base64 == ConfigFixtures.key(3))
    }

    /// One broken configuration per rule, with the error it must produce.
    static let badConfigurations: [(String, String, ConfigError)] = [
        (
            "missing node.name",
            ConfigFixtures.config(node: "node:\n  private_key_file: /etc/meshgate/private.key"),
            .missingKey("node.name")
        ),
        ("missing overlay", ConfigFixtures.config(overlay: ""), .missingKey("overlay")),
        (
            "typo in a key",
            ConfigFixtures.config(extra: "timers:\n  hello_intervall: 100ms"),
            .unknownKey("timers.hello_intervall")
        ),
        (
            "unknown key in a peer",
            ConfigFixtures.config(
                peers: """
                    peers:
                      - name: gw-fsn1-a
                        public_key: \(ConfigFixtures.key(2))
                        overlay_address: 100.64.0.3
                        endpiont: 198.51.100.7:51820
                    """),
            .unknownKey("peers[0].endpiont")
        ),
        (
            "endpoint without a port",
            ConfigFixtures.config(
                peers: ConfigFixtures.peers.replacingLast("198.51.100.7:51820", with: "198.51.100.7")),
            .invalidValue(
                key: "peers[1].endpoint", value: "198.51.100.7",
                reason: "expected host:port, such as 198.51.100.7:51820 or [2001:db8::7]:51820")
        ),
        (
            "non-canonical advertised prefix",
            ConfigFixtures.config(advertise: "advertise: [10.10.10.1/24]"),
            .nonCanonicalPrefix(key: "advertise[0]", value: "10.10.10.1/24", canonical: "10.10.10.0/24")
        ),
        (
            "public advertised subnet",
            ConfigFixtures.config(advertise: "advertise: [10.10.10.0/24, 8.8.8.0/24]"),
            .publicSubnet(key: "advertise[1]", value: "8.8.8.0/24")
        ),
        (
            "overlapping advertised subnets",
            ConfigFixtures.config(advertise: "advertise: [10.10.10.0/24, 10.10.0.0/16]"),
            .overlappingSubnets(
                key: "advertise[1]", value: "10.10.0.0/16", otherKey: "advertise[0]", otherValue: "10.10.10.0/24")
        ),
        (
            "advertised subnet containing the overlay address",
            ConfigFixtures.config(advertise: "advertise: [10.10.10.0/24, 100.64.0.0/24]\nallow_public_subnets: true"),
            .overlappingSubnets(
                key: "advertise[1]", value: "100.64.0.0/24", otherKey: "overlay.address", otherValue: "100.64.0.1")
        ),
        (
            "the same subnet twice",
            ConfigFixtures.config(advertise: "advertise: [10.10.10.0/24, 10.10.10.0/24]"),
            .duplicate(key: "advertise[1]", value: "10.10.10.0/24", firstKey: "advertise[0]")
        ),
        (
            "duplicate peer name",
            ConfigFixtures.config(peers: ConfigFixtures.peers.replacingLast("gw-fsn1-a", with: "gw-nyc1-b")),
            .duplicate(key: "peers[1].name", value: "gw-nyc1-b", firstKey: "peers[0].name")
        ),
        (
            "duplicate peer key",
            ConfigFixtures.config(
                peers: ConfigFixtures.peers.replacingLast(ConfigFixtures.key(2), with: ConfigFixtures.key(1))),
            .duplicate(key: "peers[1].public_key", value: ConfigFixtures.key(1), firstKey: "peers[0].public_key")
        ),
        (
            "duplicate peer overlay address",
            ConfigFixtures.config(peers: ConfigFixtures.peers.replacingLast("100.64.0.3", with: "100.64.0.2")),
            .duplicate(key: "peers[1].overlay_address", value: "100.64.0.2", firstKey: "peers[0].overlay_address")
        ),
        (
            "peer using this node's overlay address",
            ConfigFixtures.config(peers: ConfigFixtures.peers.replacingLast("100.64.0.3", with: "100.64.0.1")),
            .duplicate(key: "peers[1].overlay_address", value: "100.64.0.1", firstKey: "overlay.address")
        ),
        (
            "peer with this node's name that is not this node",
            ConfigFixtures.config(peers: ConfigFixtures.peers.replacingLast("gw-fsn1-a", with: "gw-nyc1-a")),
            .invalidValue(
                key: "peers[1].overlay_address", value: "100.64.0.3",
                reason:
                    "this entry has this node's name (node.name) and must describe it: overlay.address is 100.64.0.1"
            )
        ),
        (
            "MTU too small",
            ConfigFixtures.config(overlay: ConfigFixtures.overlay + "\n  mtu: 1279"),
            .outOfRange(key: "overlay.mtu", value: "1279", range: 1280...9000)
        ),
        (
            "MTU too large",
            ConfigFixtures.config(overlay: ConfigFixtures.overlay + "\n  mtu: 9001"),
            .outOfRange(key: "overlay.mtu", value: "9001", range: 1280...9000)
        ),
        (
            "listen port 0",
            ConfigFixtures.config(overlay: ConfigFixtures.overlay + "\n  listen_port: 0"),
            .outOfRange(key: "overlay.listen_port", value: "0", range: 1...65535)
        ),
        (
            "listen port above 65535",
            ConfigFixtures.config(overlay: ConfigFixtures.overlay + "\n  listen_port: 65536"),
            .outOfRange(key: "overlay.listen_port", value: "65536", range: 1...65535)
        ),
        (
            "priority 0",
            ConfigFixtures.config(ha: ConfigFixtures.ha + "\n  priority: 0"),
            .outOfRange(key: "ha.priority", value: "0", range: 1...255)
        ),
        (
            "priority 256",
            ConfigFixtures.config(ha: ConfigFixtures.ha + "\n  priority: 256"),
            .outOfRange(key: "ha.priority", value: "256", range: 1...255)
        ),
        (
            "duration without a unit",
            ConfigFixtures.config(ha: ConfigFixtures.ha + "\n  preempt_delay: 5"),
            .invalidValue(
                key: "ha.preempt_delay", value: "5", reason: "expected a duration such as 100ms, 5s, 2m or 1h")
        ),
        (
            "boolean that is not true or false",
            ConfigFixtures.config(ha: ConfigFixtures.ha + "\n  preempt: maybe"),
            .invalidValue(key: "ha.preempt", value: "maybe", reason: "expected true or false")
        ),
        (
            "dead interval shorter than three hellos",
            ConfigFixtures.config(extra: "timers:\n  hello_interval: 200ms"),
            .invalidValue(
                key: "timers.dead_interval", value: "400ms",
                reason:
                    "must be at least 3 × hello_interval (600ms) so that one lost hello does not declare a member dead")
        ),
        (
            "route expiry shorter than two advertisements",
            ConfigFixtures.config(extra: "timers:\n  route_expiry: 9s"),
            .invalidValue(
                key: "timers.route_expiry", value: "9s",
                reason:
                    "must be at least 2 × advertise_interval (10s) so that one lost advertisement does not drop routes")
        ),
        (
            "virtual IP without a length",
            ConfigFixtures.config(ha: ConfigFixtures.ha.replacingLast("10.10.10.1/24", with: "10.10.10.1")),
            .invalidValue(
                key: "ha.lan.virtual_ip", value: "10.10.10.1", reason: "expected address/length, such as 10.10.10.1/24")
        ),
        (
            "virtual IP that is the network address",
            ConfigFixtures.config(ha: ConfigFixtures.ha.replacingLast("10.10.10.1/24", with: "10.10.10.0/24")),
            .invalidValue(
                key: "ha.lan.virtual_ip", value: "10.10.10.0/24",
                reason: "is the network address of its subnet, not a host address")
        ),
        (
            "virtual IP outside the advertised subnets",
            ConfigFixtures.config(ha: ConfigFixtures.ha.replacingLast("10.10.10.1/24", with: "10.20.0.1/24")),
            .invalidValue(
                key: "ha.lan.virtual_ip", value: "10.20.0.1/24",
                reason: "its subnet 10.20.0.0/24 is not in advertise; the group's LAN must be advertised")
        ),
        (
            "malformed public key",
            ConfigFixtures.config(peers: ConfigFixtures.peers.replacingLast(ConfigFixtures.key(2), with: "abc")),
            .invalidValue(
                key: "peers[1].public_key", value: "abc",
                reason: "expected a 44-character base64 WireGuard public key (wg pubkey)")
        ),
        (
            "malformed key expiry",
            ConfigFixtures.config(peers: ConfigFixtures.peers + "\n    key_expires: 2026-02-30"),
            .invalidValue(
                key: "peers[1].key_expires", value: "2026-02-30",
                reason: "expected an RFC 3339 date such as 2026-06-01T00:00:00Z")
        ),
        (
            "relative private key path",
            ConfigFixtures.config(node: "node:\n  name: gw-nyc1-a\n  private_key_file: private.key"),
            .invalidValue(key: "node.private_key_file", value: "private.key", reason: "expected an absolute path")
        ),
        (
            "node name with a space",
            ConfigFixtures.config(node: "node:\n  name: gw nyc\n  private_key_file: /k"),
            .invalidValue(key: "node.name", value: "gw nyc", reason: "expected 1-63 characters of A-Z a-z 0-9 . _ -")
        ),
        (
            "interface name too long",
            ConfigFixtures.config(overlay: "overlay:\n  interface: meshgate-overlay0\n  address: 100.64.0.1"),
            .invalidValue(
                key: "overlay.interface", value: "meshgate-overlay0",
                reason: "expected a Linux interface name: 1-15 printable characters without spaces, / or :")
        ),
        (
            "overlay address that is not an address",
            ConfigFixtures.config(overlay: "overlay:\n  interface: mg0\n  address: 100.64.0.1/10"),
            .invalidValue(key: "overlay.address", value: "100.64.0.1/10", reason: "expected an IPv4 or IPv6 address")
        ),
        (
            "peers as a mapping",
            ConfigFixtures.config(peers: "peers:\n  name: gw-x"),
            .typeMismatch(key: "peers", expected: "a sequence", found: "a mapping")
        ),
        (
            "the kernel's local table",
            ConfigFixtures.config(extra: "kernel:\n  route_table: local"),
            .invalidValue(key: "kernel.route_table", value: "local", reason: "table 255 (local) belongs to the kernel")
        ),
        (
            "a probe target outside its subnet",
            ConfigFixtures.config(advertise: "advertise: [{prefix: 10.10.10.0/24, probe: 10.20.10.100}]"),
            .invalidValue(
                key: "advertise[0].probe", value: "10.20.10.100",
                reason: "a probe target is a host inside 10.10.10.0/24")
        ),
        (
            "an unknown key in an advertise entry",
            ConfigFixtures.config(advertise: "advertise: [{prefix: 10.10.10.0/24, probes: 10.10.10.100}]"),
            .unknownKey("advertise[0].probes")
        ),
        (
            "metrics without listen",
            ConfigFixtures.config(extra: "metrics: {}"),
            .missingKey("metrics.listen")
        ),
    ]

    @Test("an advertise entry may be a mapping with a probe target; plain and mapped entries mix")
    func probeTargets() throws {
        let yaml = ConfigFixtures.config(
            advertise: "advertise: [{prefix: 10.10.10.0/24, probe: 10.10.10.100}, 10.10.20.0/24]")
        let config = try GatewayConfiguration.parse(yaml: yaml).get()
        #expect(config.advertise == [IPPrefix("10.10.10.0/24")!, IPPrefix("10.10.20.0/24")!])
        #expect(config.probeTargets == [IPPrefix("10.10.10.0/24")!: IPAddress("10.10.10.100")!])
    }

    @Test("each broken rule yields an error naming the key", arguments: badConfigurations)
    func badConfiguration(rule: String, yaml: String, expected: ConfigError) throws {
        let found = errors(yaml)
        #expect(found == [expected], "\(rule)")
        let key = try #require(expected.key)
        #expect(expected.description.hasPrefix(key), "\(expected.description)")
    }

    @Test("an unknown key is rejected with a suggestion")
    func unknownKeySuggestion() {
        let found = errors(ConfigFixtures.config(overlay: ConfigFixtures.overlay + "\n  mtuu: 1400"))
        #expect(found == [.unknownKey("overlay.mtuu")])
        #expect(found.first?.description == "overlay.mtuu: unknown key (did you mean overlay.mtu?)")
        let top = errors(ConfigFixtures.config(extra: "advertize: [10.20.0.0/16]"))
        #expect(top.first?.description == "advertize: unknown key (did you mean advertise?)")
        let peer = errors(ConfigFixtures.config(peers: ConfigFixtures.peers + "\n    endpiont: 1.2.3.4:5"))
        #expect(peer.first?.description == "peers[1].endpiont: unknown key (did you mean peers[1].endpoint?)")
        let far = errors(ConfigFixtures.config(extra: "colour: blue"))
        #expect(far.first?.description == "colour: unknown key")
    }

    @Test("public subnets are accepted when allow_public_subnets is true")
    func allowPublic() throws {
        let yaml = ConfigFixtures.config(
            advertise: "advertise: [10.10.10.0/24, 8.8.8.0/24]\nallow_public_subnets: true")
        #expect(try parse(yaml).get().advertise.map(\.description) == ["10.10.10.0/24", "8.8.8.0/24"])
    }

    @Test("all errors are collected, in document order")
    func multipleErrors() {
        let yaml = ConfigFixtures.config(
            overlay: ConfigFixtures.overlay + "\n  mtu: 100\n  mtuu: 1",
            advertise: "advertise: [10.10.10.0/24, 10.10.10.9/24]",
            peers: ConfigFixtures.peers.replacingLast("198.51.100.7:51820", with: "198.51.100.7"))
        let found = errors(yaml)
        #expect(
            found == [
                .unknownKey("overlay.mtuu"),
                .outOfRange(key: "overlay.mtu", value: "100", range: 1280...9000),
                .invalidValue(
                    key: "peers[1].endpoint", value: "198.51.100.7",
                    reason: "expected host:port, such as 198.51.100.7:51820 or [2001:db8::7]:51820"),
                .nonCanonicalPrefix(key: "advertise[1]", value: "10.10.10.9/24", canonical: "10.10.10.0/24"),
            ])
        if case .failure(let list) = parse(yaml) {
            #expect(list.count == 4)
            #expect(list.description.split(separator: "\n").count == 4)
        }
    }

    @Test("YAML syntax errors and duplicated keys report their position")
    func syntax() {
        let broken = errors("node:\n  name: [unclosed\n")
        guard case .syntax(let line, _, let message) = broken.first else {
            Issue.record("expected a syntax error, got \(broken)")
            return
        }
        #expect(line >= 2)
        #expect(message.hasPrefix("YAML syntax error"))
        let duplicated = errors(ConfigFixtures.config(node: ConfigFixtures.node + "\n  name: gw-other"))
        guard case .syntax(_, _, let duplicateMessage) = duplicated.first else {
            Issue.record("expected a syntax error, got \(duplicated)")
            return
        }
        #expect(duplicateMessage.contains("duplicate key name"))
    }

    @Test("an empty file or a non-mapping document is refused clearly")
    func emptyDocument() {
        #expect(errors("") == [.missingKey("node"), .missingKey("overlay")])
        #expect(errors("- a\n- b") == [.typeMismatch(key: "(document)", expected: "a mapping", found: "a sequence")])
    }
}

extension String {
    /// This text with the last occurrence of `target` replaced.
    func replacingLast(_ target: String, with replacement: String) -> String {
        var index = endIndex
        while index > startIndex {
            index = self.index(before: index)
            if self[index...].hasPrefix(target) {
                return String(self[..<index]) + replacement + String(self[self.index(index, offsetBy: target.count)...])
            }
        }
        return self
    }
}
