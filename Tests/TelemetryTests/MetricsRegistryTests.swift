import NetworkTypes
import Testing

@testable import Telemetry

@Suite("MetricsRegistry")
struct MetricsRegistryTests {
    static let subnetA = IPPrefix("10.20.0.0/16")!
    static let subnetB = IPPrefix("10.30.1.0/24")!

    /// A registry with every catalogue family holding at least one series.
    static func populatedRegistry() -> MetricsRegistry {
        let registry = MetricsRegistry(version: "1.2.3")
        registry.setPeer(
            name: "nyc1", up: true, lastHandshake: 1_760_000_000, rxBytes: 1_500, txBytes: 2_500,
            keyExpiry: 1_790_000_000)
        registry.observePeerRTT(name: "nyc1", seconds: 0.003)
        registry.observePeerRTT(name: "nyc1", rtt: .microseconds(400))
        registry.setPeerProbeLoss(name: "nyc1", ratio: 0.02)
        registry.setRoutePrimary(subnet: subnetA, gateway: "gw-nyc1-a")
        registry.setRoutesInstalled(3)
        registry.setRouteLastChange(at: 1_760_000_100)
        registry.setHARole(group: "fsn1", isPrimary: true)
        registry.recordFailover(group: "fsn1", durationSeconds: 0.45)
        registry.setForwarding(family: .ipv4, enabled: true)
        registry.setForwarding(family: .ipv6, enabled: false)
        registry.setMSSClampedPacketsTotal(12)
        registry.setPacketsDroppedTotal(reason: "invalid_mac1", total: 4)
        registry.setRouteMessagesDroppedTotal(reason: "term_out_of_range", total: 2)
        registry.setHandshakesTotal(result: "completed", total: 9)
        registry.countRoleChangeHookRun(result: "ok")
        registry.setPolicyEnforced(true)
        registry.setPolicyTotals(rule: "acls[0]", packets: 5, bytes: 300)
        registry.setFirewallDroppedTotal(7)
        registry.setRoutesRefusedTotal(reason: "not_approved", total: 1)
        registry.setHealth(
            counts: ["path_down": ("critical", 2)],
            allKinds: [("path_down", "critical"), ("key_expiring", "warning")], status: 2)
        registry.setForwardingDisabledTotal(switch: "net.ipv4.ip_forward", total: 3)
        registry.setRulesetChangesTotal(1)
        registry.setPath(subnet: "10.20.10.0/24", target: "10.20.10.100", up: false, loss: 0.5)
        registry.setPeerLink(name: "gw-fsn1-a", directUp: false, via: "gw-nyc1-b", pathChanges: 1)
        registry.setRelayTotals(transitPackets: 3, transitBytes: 300, loopDropped: 1)
        registry.observePathRTT(subnet: "10.20.10.0/24", seconds: 0.002)
        return registry
    }

    @Test("health problems export every kind at its severity, 0 when absent; a path that is no longer probed goes")
    func healthAndPaths() throws {
        let registry = Self.populatedRegistry()
        var exposition = try Exposition(registry.render())
        #expect(exposition.value("meshgate_health_problems", ["kind": "path_down", "severity": "critical"]) == 2)
        #expect(exposition.value("meshgate_health_problems", ["kind": "key_expiring", "severity": "warning"]) == 0)
        #expect(exposition.value("meshgate_health_status") == 2)
        #expect(exposition.value("meshgate_forwarding_disabled_total", ["switch": "net.ipv4.ip_forward"]) == 3)
        #expect(exposition.value("meshgate_path_up", ["subnet": "10.20.10.0/24", "target": "10.20.10.100"]) == 0)
        // A kind whose problems change severity keeps one series.
        registry.setHealth(
            counts: ["key_expiring": ("critical", 1)],
            allKinds: [("path_down", "critical"), ("key_expiring", "warning")], status: 2)
        exposition = try Exposition(registry.render())
        #expect(exposition.samples(named: "meshgate_health_problems").count == 2)
        #expect(exposition.value("meshgate_health_problems", ["kind": "key_expiring", "severity": "critical"]) == 1)
        registry.removePath(subnet: "10.20.10.0/24", target: "10.20.10.100")
        exposition = try Exposition(registry.render())
        #expect(exposition.samples(named: "meshgate_path_up").isEmpty)
    }

    @Test("a peer's path series follows the relay in use: one series, the old one gone")
    func peerPathFollowsRelay() throws {
        let registry = MetricsRegistry(version: "test")
        registry.setPeerLink(name: "gw-c", directUp: false, via: "gw-b", pathChanges: 1)
        var exposition = try Exposition(registry.render())
        #expect(exposition.value("meshgate_peer_path", ["peer": "gw-c", "via": "gw-b"]) == 1)
        registry.setPeerLink(name: "gw-c", directUp: true, via: nil, pathChanges: 2)
        exposition = try Exposition(registry.render())
        #expect(exposition.samples(named: "meshgate_peer_path").count == 1)
        #expect(exposition.value("meshgate_peer_path", ["peer": "gw-c", "via": "direct"]) == 1)
        #expect(exposition.value("meshgate_path_changes_total", ["peer": "gw-c"]) == 2)
        registry.removePeer(name: "gw-c")
        exposition = try Exposition(registry.render())
        #expect(exposition.samples(named: "meshgate_peer_path").isEmpty)
    }

    @Test("renders every catalogue metric with HELP and TYPE lines")
    func rendersEveryCatalogueMetric() throws {
        let exposition = try Exposition(Self.populatedRegistry().render())
        for metric in MetricCatalog.all {
            #expect(exposition.help[metric.name] == metric.help, "HELP of \(metric.name)")
            #expect(exposition.types[metric.name] == metric.kind.typeName, "TYPE of \(metric.name)")
            let sampleName = metric.kind.typeName == "histogram" ? metric.name + "_count" : metric.name
            #expect(!exposition.samples(named: sampleName).isEmpty, "no sample of \(metric.name)")
        }
    }

    @Test("renders the values the setters were given")
    func rendersSetterValues() throws {
        let exposition = try Exposition(Self.populatedRegistry().render())
        let peer = ["peer": "nyc1"]
        #expect(exposition.value("meshgate_peer_up", peer) == 1)
        #expect(exposition.value("meshgate_peer_last_handshake_timestamp_seconds", peer) == 1_760_000_000)
        #expect(exposition.value("meshgate_peer_receive_bytes_total", peer) == 1_500)
        #expect(exposition.value("meshgate_peer_transmit_bytes_total", peer) == 2_500)
        #expect(exposition.value("meshgate_peer_key_expiry_timestamp_seconds", peer) == 1_790_000_000)
        #expect(exposition.value("meshgate_peer_probe_loss_ratio", peer) == 0.02)
        #expect(exposition.value("meshgate_peer_rtt_seconds_count", peer) == 2)
        #expect(exposition.value("meshgate_peer_rtt_seconds_bucket", ["peer": "nyc1", "le": "0.0001"]) == 0)
        #expect(exposition.value("meshgate_peer_rtt_seconds_bucket", ["peer": "nyc1", "le": "0.0005"]) == 1)
        #expect(exposition.value("meshgate_peer_rtt_seconds_bucket", ["peer": "nyc1", "le": "0.005"]) == 2)
        #expect(exposition.value("meshgate_peer_rtt_seconds_bucket", ["peer": "nyc1", "le": "+Inf"]) == 2)
        let rttSum = try #require(exposition.value("meshgate_peer_rtt_seconds_sum", peer))
        #expect(abs(rttSum - 0.0034) < 1e-12)
        #expect(exposition.value("meshgate_route_primary", ["subnet": "10.20.0.0/16", "gateway": "gw-nyc1-a"]) == 1)
        #expect(exposition.value("meshgate_routes_installed") == 3)
        #expect(exposition.value("meshgate_route_last_change_timestamp_seconds") == 1_760_000_100)
        #expect(exposition.value("meshgate_failovers_total", ["group": "fsn1"]) == 1)
        #expect(exposition.value("meshgate_failover_duration_seconds_count") == 1)
        #expect(exposition.value("meshgate_failover_duration_seconds_bucket", ["le": "0.4"]) == 0)
        #expect(exposition.value("meshgate_failover_duration_seconds_bucket", ["le": "0.5"]) == 1)
        #expect(exposition.value("meshgate_failover_duration_seconds_sum") == 0.45)
        #expect(exposition.value("meshgate_ha_role", ["group": "fsn1"]) == 1)
        #expect(exposition.value("meshgate_ip_forwarding_enabled", ["family": "ipv4"]) == 1)
        #expect(exposition.value("meshgate_ip_forwarding_enabled", ["family": "ipv6"]) == 0)
        #expect(exposition.value("meshgate_mss_clamped_packets_total") == 12)
        #expect(exposition.value("meshgate_packets_dropped_total", ["reason": "invalid_mac1"]) == 4)
        #expect(exposition.value("meshgate_handshakes_total", ["result": "completed"]) == 9)
        #expect(exposition.value("meshgate_build_info", ["version": "1.2.3"]) == 1)
    }

    @Test("a fresh registry renders build info and the unlabelled families at zero, and nothing per peer")
    func freshRegistryRendersZeroes() throws {
        let exposition = try Exposition(MetricsRegistry(version: "dev").render())
        #expect(exposition.value("meshgate_build_info", ["version": "dev"]) == 1)
        #expect(exposition.value("meshgate_routes_installed") == 0)
        #expect(exposition.value("meshgate_route_last_change_timestamp_seconds") == 0)
        #expect(exposition.value("meshgate_mss_clamped_packets_total") == 0)
        #expect(exposition.value("meshgate_failover_duration_seconds_count") == 0)
        #expect(exposition.samples(named: "meshgate_peer_up").isEmpty)
    }

    @Test("counters fed absolute totals follow growth and never go backwards")
    func absoluteTotalsNeverGoBackwards() throws {
        let registry = MetricsRegistry(version: "dev")
        // 1000 → 1600 → 1600 → 200 (the source restarted and counted 200 since) → 700.
        let totals: [UInt64] = [1_000, 1_600, 1_600, 200, 700]
        let expected: [Double] = [1_000, 1_600, 1_600, 1_800, 2_300]
        var previous = -1.0
        for (total, want) in zip(totals, expected) {
            registry.setPeer(name: "p", up: true, lastHandshake: nil, rxBytes: total, txBytes: 0, keyExpiry: nil)
            registry.setPacketsDroppedTotal(reason: "replayed_counter", total: total)
            registry.setHandshakesTotal(result: "failed", total: total)
            registry.setMSSClampedPacketsTotal(total)
            registry.setTotal(MetricCatalog.packetsDropped, labels: ["rate_limited"], total: total)
            let exposition = try Exposition(registry.render())
            let values = [
                exposition.value("meshgate_peer_receive_bytes_total", ["peer": "p"]),
                exposition.value("meshgate_packets_dropped_total", ["reason": "replayed_counter"]),
                exposition.value("meshgate_handshakes_total", ["result": "failed"]),
                exposition.value("meshgate_mss_clamped_packets_total"),
                exposition.value("meshgate_packets_dropped_total", ["reason": "rate_limited"]),
            ]
            #expect(values.allSatisfy { $0 == want }, "after total \(total): \(values), want \(want)")
            #expect(want >= previous)
            previous = want
        }
    }

    @Test("label sets of one counter advance independently")
    func countersAdvancePerLabelSet() throws {
        let registry = MetricsRegistry(version: "dev")
        registry.setPacketsDroppedTotal(reason: "a", total: 5)
        registry.setPacketsDroppedTotal(reason: "b", total: 50)
        registry.setPacketsDroppedTotal(reason: "a", total: 7)
        let exposition = try Exposition(registry.render())
        #expect(exposition.value("meshgate_packets_dropped_total", ["reason": "a"]) == 7)
        #expect(exposition.value("meshgate_packets_dropped_total", ["reason": "b"]) == 50)
    }

    /// The `meshgate_route_primary` series of one subnet, as gateway → value.
    static func primaries(_ registry: MetricsRegistry, _ subnet: IPPrefix) throws -> [String: Double] {
        let samples = try Exposition(registry.render()).samples(named: "meshgate_route_primary")
        return Dictionary(
            uniqueKeysWithValues: samples.filter { $0.labels["subnet"] == subnet.description }
                .map { ($0.labels["gateway"] ?? "<none>", $0.value) })
    }

    @Test("a primary switch leaves exactly one series at 1 per subnet")
    func primarySwitchLeavesOnePrimary() throws {
        let registry = MetricsRegistry(version: "dev")
        registry.setRoutePrimary(subnet: Self.subnetA, gateway: "gw-a")
        registry.setRoutePrimary(subnet: Self.subnetB, gateway: "gw-c")
        registry.setRoutePrimary(subnet: Self.subnetA, gateway: "gw-b")
        #expect(try Self.primaries(registry, Self.subnetA) == ["gw-a": 0, "gw-b": 1])
        #expect(try Self.primaries(registry, Self.subnetB) == ["gw-c": 1], "another subnet is untouched")

        registry.setRoutePrimary(subnet: Self.subnetA, gateway: "gw-a")
        #expect(try Self.primaries(registry, Self.subnetA) == ["gw-a": 1, "gw-b": 0])

        let exposition = try Exposition(registry.render())
        for subnet in [Self.subnetA, Self.subnetB] {
            let atOne = exposition.samples(named: "meshgate_route_primary")
                .filter { $0.labels["subnet"] == subnet.description && $0.value == 1 }
            #expect(atOne.count == 1, "\(subnet): \(atOne)")
        }
    }

    @Test("a subnet without primary keeps its series at 0 so the sum by subnet is 0")
    func subnetWithoutPrimaryIsVisible() throws {
        let registry = MetricsRegistry(version: "dev")
        registry.setRoutePrimary(subnet: Self.subnetA, gateway: "gw-a")
        registry.setRoutePrimary(subnet: Self.subnetA, gateway: nil)
        #expect(try Self.primaries(registry, Self.subnetA) == ["gw-a": 0])

        // Never had a primary: a placeholder with an empty gateway label, gone once a primary appears.
        registry.setRoutePrimary(subnet: Self.subnetB, gateway: nil)
        #expect(try Self.primaries(registry, Self.subnetB) == ["": 0])
        registry.setRoutePrimary(subnet: Self.subnetB, gateway: "gw-c")
        #expect(try Self.primaries(registry, Self.subnetB) == ["gw-c": 1])

        registry.removeRoute(subnet: Self.subnetA)
        #expect(try Self.primaries(registry, Self.subnetA).isEmpty)
    }

    @Test("removing a peer deletes all its series and leaves other peers")
    func removePeerDeletesItsSeries() throws {
        let registry = Self.populatedRegistry()
        registry.setPeer(name: "sfo2", up: false, lastHandshake: nil, rxBytes: 0, txBytes: 0, keyExpiry: nil)
        registry.removePeer(name: "nyc1")
        let exposition = try Exposition(registry.render())
        #expect(!exposition.samples.contains { $0.labels["peer"] == "nyc1" }, "series of nyc1 remain")
        #expect(exposition.value("meshgate_peer_up", ["peer": "sfo2"]) == 0)
        #expect(exposition.value("meshgate_peer_last_handshake_timestamp_seconds", ["peer": "sfo2"]) == 0)

        // Re-added later: its counters start from the new totals, not from the old baseline.
        registry.setPeer(name: "nyc1", up: true, lastHandshake: nil, rxBytes: 10, txBytes: 20, keyExpiry: nil)
        let again = try Exposition(registry.render())
        #expect(again.value("meshgate_peer_receive_bytes_total", ["peer": "nyc1"]) == 10)
    }

    @Test("a key expiry of nil removes the expiry series")
    func keyExpiryNilRemovesSeries() throws {
        let registry = MetricsRegistry(version: "dev")
        registry.setPeer(name: "p", up: true, lastHandshake: 5, rxBytes: 0, txBytes: 0, keyExpiry: 100)
        registry.setPeer(name: "p", up: true, lastHandshake: 5, rxBytes: 0, txBytes: 0, keyExpiry: nil)
        let exposition = try Exposition(registry.render())
        #expect(exposition.samples(named: "meshgate_peer_key_expiry_timestamp_seconds").isEmpty)
    }

    @Test("probe loss is clamped to 0...1 and bad RTT observations are ignored")
    func clampsAndIgnoresBadInput() throws {
        let registry = MetricsRegistry(version: "dev")
        registry.setPeerProbeLoss(name: "p", ratio: 1.5)
        registry.observePeerRTT(name: "p", seconds: -1)
        registry.observePeerRTT(name: "p", seconds: .nan)
        registry.observePeerRTT(name: "p", seconds: .infinity)
        let exposition = try Exposition(registry.render())
        #expect(exposition.value("meshgate_peer_probe_loss_ratio", ["peer": "p"]) == 1)
        #expect(exposition.value("meshgate_peer_rtt_seconds_count", ["peer": "p"]) == 0)
        #expect(exposition.value("meshgate_peer_rtt_seconds_sum", ["peer": "p"]) == 0)
    }

    @Test("setting the HA role creates the group's failover counter at 0")
    func haRoleCreatesFailoverCounter() throws {
        let registry = MetricsRegistry(version: "dev")
        registry.setHARole(group: "nyc1", isPrimary: false)
        let exposition = try Exposition(registry.render())
        #expect(exposition.value("meshgate_ha_role", ["group": "nyc1"]) == 0)
        #expect(exposition.value("meshgate_failovers_total", ["group": "nyc1"]) == 0)
    }

    @Test("two registries are independent")
    func registriesAreIndependent() throws {
        let first = MetricsRegistry(version: "a")
        let second = MetricsRegistry(version: "b")
        first.setRoutesInstalled(7)
        let exposition = try Exposition(second.render())
        #expect(exposition.value("meshgate_routes_installed") == 0)
        #expect(exposition.value("meshgate_build_info", ["version": "a"]) == nil)
    }

    @Test("label values with quotes, backslashes and newlines are escaped")
    func escapesLabelValues() throws {
        let registry = MetricsRegistry(version: "dev")
        let name = "odd \"peer\" \\ with\nnewline"
        registry.setPeer(name: name, up: true, lastHandshake: nil, rxBytes: 1, txBytes: 1, keyExpiry: nil)
        let exposition = try Exposition(registry.render())
        #expect(exposition.value("meshgate_peer_up", ["peer": name]) == 1)
    }

    @Test(
        "promtool check metrics accepts the rendered text",
        .enabled(if: Promtool.isAvailable, "promtool is missing: run scripts/install-deps.sh"))
    func promtoolAcceptsRender() throws {
        let registry = Self.populatedRegistry()
        registry.setRoutePrimary(subnet: Self.subnetB, gateway: nil)
        registry.setPeer(name: "odd \"peer\" \\", up: false, lastHandshake: nil, rxBytes: 0, txBytes: 0, keyExpiry: nil)
        let run = try Promtool.run(["check", "metrics"], input: registry.render())
        #expect(run.status == 0, "promtool check metrics: \(run.output)")
        let hasFindings = run.output.contains { !$0.isWhitespace }
        #expect(!hasFindings, "lint findings: \(run.output)")
    }
}
