import GatewayConfig
import NetworkTypes
import Testing

@Suite("Configuration diff")
struct ConfigDiffTests {
    func parse(_ yaml: String) throws -> GatewayConfiguration {
        try GatewayConfiguration.parse(yaml: yaml).get()
    }

    @Test("identical configurations have no changes")
    func identical() throws {
        let configuration = try parse(ConfigFixtures.config())
        let result = diff(from: configuration, to: configuration)
        #expect(result.isEmpty)
        #expect(!result.requiresRestart)
        #expect(result.description == "no changes")
    }

    @Test("peers added, removed and changed are listed by name with the changed keys")
    func peers() throws {
        let old = try parse(ConfigFixtures.config())
        let new = try parse(
            ConfigFixtures.config(
                peers: """
                    peers:
                      - name: gw-fsn1-a
                        public_key: \(ConfigFixtures.key(5))
                        endpoint: 198.51.100.8:51820
                        overlay_address: 100.64.0.3
                        persistent_keepalive: 25
                      - name: gw-gra1-a
                        public_key: \(ConfigFixtures.key(6))
                        overlay_address: 100.64.0.5
                    """))
        let result = diff(from: old, to: new)
        #expect(result.peersAdded == ["gw-gra1-a"])
        #expect(result.peersRemoved == ["gw-nyc1-b"])
        #expect(
            result.peersChanged
                == [.init(name: "gw-fsn1-a", changedKeys: ["public_key", "endpoint", "persistent_keepalive"])])
        #expect(!result.requiresRestart)
        #expect(
            result.description
                == "peers added: gw-gra1-a; peers removed: gw-nyc1-b; peer gw-fsn1-a changed: public_key, endpoint, persistent_keepalive"
        )
    }

    @Test("advertised subnets added and removed")
    func advertise() throws {
        let old = try parse(ConfigFixtures.config(advertise: "advertise: [10.10.10.0/24, 10.30.0.0/16]"))
        let new = try parse(ConfigFixtures.config(advertise: "advertise: [10.10.10.0/24, 10.40.0.0/16]"))
        let result = diff(from: old, to: new)
        #expect(result.advertiseAdded == [IPPrefix("10.40.0.0/16")])
        #expect(result.advertiseRemoved == [IPPrefix("10.30.0.0/16")])
        #expect(result.description == "advertise added: 10.40.0.0/16; advertise removed: 10.30.0.0/16")
    }

    @Test("HA changes list the keys, and adding or removing the section says ha")
    func ha() throws {
        let old = try parse(ConfigFixtures.config())
        let new = try parse(ConfigFixtures.config(ha: ConfigFixtures.ha + "\n  priority: 50\n  preempt: true"))
        #expect(diff(from: old, to: new).haChanges == ["ha.priority", "ha.preempt"])
        let without = try parse(ConfigFixtures.config(ha: ""))
        #expect(diff(from: old, to: without).haChanges == ["ha"])
        #expect(diff(from: without, to: old).description == "ha changed: ha")
    }

    @Test("overlay and node changes need a restart; timers and kernel settings do not")
    func restart() throws {
        let old = try parse(ConfigFixtures.config())
        let mtu = try parse(ConfigFixtures.config(overlay: ConfigFixtures.overlay + "\n  mtu: 1420"))
        let overlayDiff = diff(from: old, to: mtu)
        #expect(overlayDiff.overlayChanges == ["overlay.mtu"])
        #expect(overlayDiff.requiresRestart)
        #expect(overlayDiff.description == "overlay changed (restart required): overlay.mtu")

        let timers = try parse(
            ConfigFixtures.config(extra: "timers:\n  hello_interval: 50ms\nkernel:\n  route_metric: 10"))
        let timerDiff = diff(from: old, to: timers)
        #expect(timerDiff.timerChanges == ["timers.hello_interval"])
        #expect(timerDiff.otherChanges == ["kernel.route_metric"])
        #expect(!timerDiff.requiresRestart)

        let socket = try parse(ConfigFixtures.config(extra: "control:\n  socket: /run/other.sock"))
        #expect(diff(from: old, to: socket).requiresRestart)
        let renamed = try parse(ConfigFixtures.config(node: "node:\n  name: gw-nyc1-z\n  private_key_file: /k"))
        #expect(diff(from: old, to: renamed).nodeChanges == ["node.name", "node.private_key_file"])
    }
}
