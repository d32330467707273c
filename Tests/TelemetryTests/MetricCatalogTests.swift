import Testing

@testable import Telemetry

@Suite("MetricCatalog")
struct MetricCatalogTests {
    @Test("lists exactly the metrics of the operations issue, with their label names")
    func coversTheIssueList() {
        let expected: [String: [String]] = [
            "meshgate_peer_up": ["peer"],
            "meshgate_peer_last_handshake_timestamp_seconds": ["peer"],
            "meshgate_peer_receive_bytes_total": ["peer"],
            "meshgate_peer_transmit_bytes_total": ["peer"],
            "meshgate_peer_rtt_seconds": ["peer"],
            "meshgate_peer_probe_loss_ratio": ["peer"],
            "meshgate_peer_key_expiry_timestamp_seconds": ["peer"],
            "meshgate_route_primary": ["subnet", "gateway"],
            "meshgate_routes_installed": [],
            "meshgate_route_last_change_timestamp_seconds": [],
            "meshgate_failovers_total": ["group"],
            "meshgate_failover_duration_seconds": [],
            "meshgate_ha_role": ["group"],
            "meshgate_ip_forwarding_enabled": ["family"],
            "meshgate_mss_clamped_packets_total": [],
            "meshgate_packets_dropped_total": ["reason"],
            "meshgate_route_messages_dropped_total": ["reason"],
            "meshgate_handshakes_total": ["result"],
            "meshgate_role_change_hook_runs_total": ["result"],
            "meshgate_build_info": ["version"],
            "meshgate_policy_enforced": [],
            "meshgate_policy_packets_total": ["rule"],
            "meshgate_policy_bytes_total": ["rule"],
            "meshgate_firewall_dropped_packets_total": [],
            "meshgate_routes_refused_total": ["reason"],
            "meshgate_health_problems": ["kind", "severity"],
            "meshgate_health_status": [],
            "meshgate_forwarding_disabled_total": ["switch"],
            "meshgate_ruleset_changes_total": [],
            "meshgate_path_up": ["subnet", "target"],
            "meshgate_path_rtt_seconds": ["subnet"],
            "meshgate_path_loss_ratio": ["subnet"],
            "meshgate_peer_direct_link_up": ["peer"],
            "meshgate_peer_path": ["peer", "via"],
            "meshgate_path_changes_total": ["peer"],
            "meshgate_relay_transit_packets_total": [],
            "meshgate_relay_transit_bytes_total": [],
            "meshgate_relay_loop_dropped_packets_total": [],
        ]
        let actual = Dictionary(uniqueKeysWithValues: MetricCatalog.all.map { ($0.name, $0.labelNames) })
        #expect(actual == expected)
        #expect(MetricCatalog.all.count == expected.count, "a name is listed twice")
    }

    @Test("follows the Prometheus naming rules", arguments: MetricCatalog.all)
    func followsNamingRules(metric: MetricDefinition) {
        #expect(metric.name.hasPrefix("meshgate_"))
        #expect(metric.name.allSatisfy { ("a"..."z").contains($0) || $0 == "_" }, "snake_case, no digits")
        #expect(!metric.help.isEmpty && !metric.help.contains("\n"))
        #expect(metric.labelNames.allSatisfy { $0.allSatisfy { ("a"..."z").contains($0) } })
        switch metric.kind {
        case .counter:
            #expect(metric.name.hasSuffix("_total"))
        case .gauge:
            #expect(!metric.name.hasSuffix("_total"))
        case .histogram(let buckets):
            #expect(metric.name.hasSuffix("_seconds"))
            #expect(!buckets.isEmpty && zip(buckets, buckets.dropFirst()).allSatisfy { $0 < $1 }, "ascending")
        }
    }

    @Test("RTT buckets span 0.1 ms to 1 s")
    func rttBucketsSpanTheProbeRange() throws {
        guard case .histogram(let buckets) = MetricCatalog.peerRTT.kind else {
            Issue.record("meshgate_peer_rtt_seconds is \(MetricCatalog.peerRTT.kind.typeName), not a histogram")
            return
        }
        #expect(buckets.first == 0.0001)
        #expect(buckets.last == 1)
    }
}
