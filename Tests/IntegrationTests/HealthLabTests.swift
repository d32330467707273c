// Health that follows what packets do, in the two-region namespace lab of scripts/gateway-lab.sh (issue 9).
//
// Each blackhole the issue lists is produced for real — forwarding switched off on a gateway's LAN and
// overlay interfaces, a foreign nftables table dropping forwarded traffic, a gateway of another group
// advertising a region's /24, a peer key expired on one side only, a subnet held withdrawn by `drill
// withdraw` — and must show up within 10 s as a named problem in `meshgate status --json`, as a non-zero
// `meshgate_health_problems` series, as a `health_problem` audit line and as a firing alert in a real
// Prometheus loaded with the shipped rules; `meshgate explain` must name the failing hop, and fixing the
// cause must clear the problem. The lab's gateways probe each other's LAN host end to end
// (`advertise: [{prefix, probe: <host>}]`), which is what sees a far side's forwarding break.
//
// Run (one --product per build):
//   flock /tmp/meshgate-swift.lock swift build --product meshgated &&
//   flock /tmp/meshgate-swift.lock swift build --product meshgate &&
//   flock /tmp/meshgate-swift.lock swift test --disable-xctest --filter HealthLabTests

import Foundation
import MeshgateTestSupport
import Testing

@Suite(
    "health in a two-region lab: five blackholes named, alerted and explained; ping; drills that fail",
    .serialized, .tags(.privileged), .requiresLab("nft", "curl", "prometheus", "sysctl"), .gatewayLab)
struct HealthLabTests {
    static let rulesFile = "\(LabEnvironment.packageRoot)/rootfs/etc/prometheus/meshgate-rules.yml"
    /// How soon a blackhole must be a named problem (the bound).
    static let detection: Duration = .seconds(10)

    var lab: GatewayLab {
        get throws { try #require(GatewayLabScope.current, "the suite's gateway lab is not up") }
    }

    static func report(_ text: String) { print("[health lab] \(text)") }

    /// Waits until `gateway` reports a problem of `kind` (about `subject`, if given); returns it.
    func waitForProblem(
        _ lab: GatewayLab, _ gateway: LabGateway, _ kind: String, subject: String? = nil,
        timeout: Duration = HealthLabTests.detection
    ) async throws -> GatewayStatus.Problem? {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < timeout {
            if let problem = try await lab.status(gateway).problems(kind, subject: subject).first {
                Self.report("\(gateway): \(kind) after \(clock.now - start): \(problem.message)")
                return problem
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        return nil
    }

    /// Waits until `gateway` no longer reports `kind`.
    func waitCleared(_ lab: GatewayLab, _ gateway: LabGateway, _ kind: String, timeout: Duration = .seconds(15))
        async throws -> Bool
    {
        let clock = ContinuousClock()
        let start = clock.now
        while clock.now - start < timeout {
            if try await lab.status(gateway).problems(kind).isEmpty { return true }
            try await Task.sleep(for: .milliseconds(250))
        }
        return false
    }

    /// The problem is everywhere an operator looks: status (already), the metric, the audit log and a firing
    /// alert in `prometheus` (which scrapes `gateway`).
    func expectReported(
        _ lab: GatewayLab, _ gateway: LabGateway, _ kind: String, prometheus: PrometheusServer
    ) async throws {
        let scrape = try await lab.scrapeMetrics(gateway)
        let series = scrape.samples("meshgate_health_problems").filter { $0.labels["kind"] == kind }
        #expect(series.contains { $0.value >= 1 }, "\(gateway) meshgate_health_problems{kind=\(kind)}: \(series)")
        #expect((scrape.value("meshgate_health_status") ?? 0) >= 1, "\(gateway) meshgate_health_status")
        let audited = await lab.waitForAudit(gateway, timeout: .seconds(2)) {
            $0.event == "health_problem" && $0["kind"] == kind && $0["state"] == "raised"
        }
        #expect(audited != nil, "no health_problem audit line for \(kind) on \(gateway)")
        let alert = try await prometheus.waitUntil(
            "ALERTS{alertname=\"MeshgateHealthProblem\",alertstate=\"firing\",kind=\"\(kind)\"}", timeout: .seconds(10)
        ) { !$0.isEmpty }
        #expect(alert.met, "MeshgateHealthProblem{kind=\(kind)} not firing in \(prometheus.namespace): \(alert.last)")
    }

    /// `meshgate explain SRC DST` on `gateway`: exit 1 and a failing hop of `check` at `at`.
    func expectExplained(
        _ lab: GatewayLab, on gateway: LabGateway, from source: String, to destination: String, check: String,
        at: LabGateway
    ) async throws {
        let result = try await lab.meshgateCommand(gateway, ["explain", source, destination, "--json"])
        #expect(result.status == .exited(1), "explain should fail: \(result)")
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
        let explain = object?["explain"] as? [String: Any]
        let verdict = explain?["verdict"] as? String ?? ""
        #expect(verdict.contains("\(check) at \(at.name)"), "verdict: \(verdict)\n\(result.standardOutput)")
        Self.report("explain on \(gateway): \(verdict)")
    }

    @Test(
        "five blackholes: each a named problem within 10 s, a metric, an audit line, a firing alert, explained; fixed, cleared"
    )
    func blackholes() async throws {
        let lab = try self.lab
        try await lab.makePrimary(.nyc1a)
        try await lab.makePrimary(.fsn1a)
        // Problems show on the gateway at fault and on the far one whose probes cross it: scrape both.
        let nyc = try await PrometheusServer.start(lab: lab, in: .nyc1a, ruleFiles: [Self.rulesFile])
        let fsn = try await PrometheusServer.start(lab: lab, in: .fsn1a, ruleFiles: [Self.rulesFile])
        do {
            for gateway in LabGateway.allCases {
                let status = try await lab.status(gateway)
                #expect(status.health == "ok", "\(gateway) before the blackholes: \(status.problems ?? [])")
            }
            try await forwardingOff(lab, nyc: nyc, fsn: fsn)
            try await foreignTable(lab, nyc: nyc, fsn: fsn)
            try await routeConflict(lab, fsn: fsn)
            try await oneSidedKeyExpiry(lab, nyc: nyc, fsn: fsn)
            try await heldWithdrawal(lab, nyc: nyc)
            try await rulesetDeleted(lab, fsn: fsn)
        } catch {
            _ = await nyc.stop()
            _ = await fsn.stop()
            throw error
        }
        #expect(await nyc.stop() == .exited(0))
        #expect(await fsn.stop() == .exited(0))
    }

    /// 1. `net.ipv4.conf.{lan,overlay}.forwarding=0` on gw-fsn1-a: nothing crosses it any more.
    private func forwardingOff(_ lab: GatewayLab, nyc: PrometheusServer, fsn: PrometheusServer) async throws {
        let namespace = lab.namespace(.fsn1a)
        let overlay = lab.interfaceName(.fsn1a)
        for interface in ["lan", overlay] {
            try await lab.run(in: namespace, ["sysctl", "-qw", "net.ipv4.conf.\(interface).forwarding=0"])
        }
        let local = try await waitForProblem(lab, .fsn1a, "forwarding_off", subject: "net.ipv4.conf.lan.forwarding")
        #expect(local?.severity == "critical")
        #expect(
            try await waitForProblem(lab, .fsn1a, "forwarding_off", subject: "net.ipv4.conf.\(overlay).forwarding")
                != nil)
        let path = try await waitForProblem(lab, .nyc1a, "path_down", subject: LabRegion.fsn1.subnet)
        #expect(path != nil, "gw-nyc1-a's end-to-end probes to host-fsn1 still pass")
        try await expectReported(lab, .fsn1a, "forwarding_off", prometheus: fsn)
        try await expectReported(lab, .nyc1a, "path_down", prometheus: nyc)
        try await expectExplained(
            lab, on: .nyc1a, from: LabRegion.nyc1.hostAddress, to: LabRegion.fsn1.hostAddress, check: "forwarding",
            at: .fsn1a)
        let health = try await lab.meshgateCommand(.fsn1a, ["health"])
        #expect(health.status == .exited(2), "CRITICAL is exit 2: \(health)")
        #expect(health.standardOutput.contains("CRITICAL"), "\(health)")
        for interface in ["lan", overlay] {
            try await lab.run(in: namespace, ["sysctl", "-qw", "net.ipv4.conf.\(interface).forwarding=1"])
        }
        #expect(try await waitCleared(lab, .fsn1a, "forwarding_off"))
        #expect(try await waitCleared(lab, .nyc1a, "path_down"))

        // The global switch is ours to keep on: switched back at once, but counted, audited and alerted.
        let before =
            try await lab.scrapeMetrics(.fsn1a).value(
                "meshgate_forwarding_disabled_total", ["switch": "net.ipv4.ip_forward"]) ?? -1
        #expect(before == 0, "the counter exists from 0, so its first increase can alert")
        try await lab.run(in: namespace, ["sysctl", "-qw", "net.ipv4.ip_forward=0"])
        let restored = try await waitForProblem(lab, .fsn1a, "forwarding_switched_off", subject: "net.ipv4.ip_forward")
        #expect(restored?.severity == "warning")
        let value = try await lab.run(in: namespace, ["sysctl", "-n", "net.ipv4.ip_forward"])
        #expect(value.standardOutput.trimmed == "1", "meshgated switches global forwarding back on")
        let counted = try await lab.scrapeMetrics(.fsn1a).value(
            "meshgate_forwarding_disabled_total", ["switch": "net.ipv4.ip_forward"])
        #expect(counted == 1, "meshgate_forwarding_disabled_total: \(counted ?? -1)")
        let alert = try await fsn.waitUntil(
            "ALERTS{alertname=\"MeshgateForwardingSwitchedOff\",alertstate=\"firing\"}", timeout: .seconds(10)
        ) { !$0.isEmpty }
        #expect(alert.met, "MeshgateForwardingSwitchedOff: \(alert.last)")
        // After `ip_forward=1` every interface forwards again too (the kernel copies the global value).
        #expect(try await waitCleared(lab, .nyc1a, "path_down"))
    }

    /// 2. A foreign table with a forward-hook chain, policy drop, on gw-fsn1-a.
    private func foreignTable(_ lab: GatewayLab, nyc: PrometheusServer, fsn: PrometheusServer) async throws {
        let namespace = lab.namespace(.fsn1a)
        try await lab.run(
            in: namespace, ["nft", "-f", "-"],
            input: "table inet blocker {\n  chain blackhole { type filter hook forward priority 0; policy drop; }\n}\n")
        #expect(try await waitForProblem(lab, .nyc1a, "path_down", subject: LabRegion.fsn1.subnet) != nil)
        let filter = try await waitForProblem(lab, .fsn1a, "foreign_forward_filter")
        #expect(filter?.subject.contains("inet blocker") == true, "\(String(describing: filter))")
        try await expectReported(lab, .nyc1a, "path_down", prometheus: nyc)
        try await expectReported(lab, .fsn1a, "foreign_forward_filter", prometheus: fsn)
        try await expectExplained(
            lab, on: .nyc1a, from: LabRegion.nyc1.hostAddress, to: LabRegion.fsn1.hostAddress, check: "nftables",
            at: .fsn1a)
        try await lab.run(in: namespace, ["nft", "delete", "table", "inet", "blocker"])
        #expect(try await waitCleared(lab, .nyc1a, "path_down"))
        #expect(try await waitCleared(lab, .fsn1a, "foreign_forward_filter"))
    }

    /// 3. gw-fsn1-b (group fsn1) also advertises nyc1's /24. By "lowest name" it would have taken it.
    private func routeConflict(_ lab: GatewayLab, fsn: PrometheusServer) async throws {
        let original = try lab.readConfig(.fsn1b)
        try lab.writeConfig(
            .fsn1b,
            try ConfigEdit.replacing(
                LabRegion.fsn1.advertiseLine,
                with: "advertise: [\(LabRegion.fsn1.advertiseEntry), \(LabRegion.nyc1.subnet)]", in: original))
        #expect(try await lab.reloadConfig(.fsn1b).succeeded)
        let conflict = try await waitForProblem(lab, .fsn1a, "route_conflict", subject: LabRegion.nyc1.subnet)
        #expect(conflict?.message.contains("gw-fsn1-b") == true, "\(String(describing: conflict))")
        let route = try await lab.routes(.fsn1a).first { $0.subnet == LabRegion.nyc1.subnet }
        #expect(route?.via == LabGateway.nyc1a.name, "the subnet stays with its group: \(String(describing: route))")
        let owner = try await waitForProblem(lab, .nyc1a, "route_conflict", subject: LabRegion.nyc1.subnet)
        #expect(owner?.message.contains("own subnet") == true, "the owner sees its subnet claimed")
        try await expectReported(lab, .fsn1a, "route_conflict", prometheus: fsn)
        try await expectExplained(
            lab, on: .fsn1a, from: LabRegion.fsn1.hostAddress, to: LabRegion.nyc1.hostAddress, check: "route",
            at: .fsn1a)
        // Traffic still goes to nyc1.
        let ping = try await lab.run(
            in: lab.hostNamespace(.fsn1), ["ping", "-c", "3", "-i", "0.2", "-W", "1", LabRegion.nyc1.hostAddress],
            check: false)
        #expect(ping.succeeded, "\(ping)")
        try lab.writeConfig(.fsn1b, original)
        #expect(try await lab.reloadConfig(.fsn1b).succeeded)
        #expect(try await waitCleared(lab, .fsn1a, "route_conflict"))
        #expect(try await waitCleared(lab, .nyc1a, "route_conflict"))
    }

    /// 4. gw-nyc1-a's config says gw-fsn1-a's key expired; gw-fsn1-a knows nothing of it.
    private func oneSidedKeyExpiry(_ lab: GatewayLab, nyc: PrometheusServer, fsn: PrometheusServer) async throws {
        let original = try lab.readConfig(.nyc1a)
        try lab.writeConfig(
            .nyc1a, try ConfigEdit.addingPeerSetting("key_expires: 2025-01-01", toPeer: "gw-fsn1-a", in: original))
        #expect(try await lab.reloadConfig(.nyc1a).succeeded)
        let expired = try await waitForProblem(lab, .nyc1a, "key_expired", subject: LabGateway.fsn1a.name)
        #expect(expired?.severity == "critical")
        let down = try await waitForProblem(lab, .fsn1a, "peer_down", subject: LabGateway.nyc1a.name)
        #expect(down?.severity == "critical", "\(String(describing: down))")
        #expect(down?.hint.contains("key") == true, "the hint names a dropped key: \(String(describing: down))")
        try await expectReported(lab, .nyc1a, "key_expired", prometheus: nyc)
        try await expectReported(lab, .fsn1a, "peer_down", prometheus: fsn)
        try await expectExplained(
            lab, on: .fsn1a, from: LabRegion.fsn1.hostAddress, to: LabRegion.nyc1.hostAddress, check: "tunnel",
            at: .fsn1a)
        try lab.writeConfig(.nyc1a, original)
        #expect(try await lab.reloadConfig(.nyc1a).succeeded)
        #expect(try await waitCleared(lab, .nyc1a, "key_expired"))
        #expect(try await waitCleared(lab, .fsn1a, "peer_down", timeout: .seconds(30)))
    }

    /// 5. `drill withdraw --hold`: nyc1's subnet is gone from the mesh while the drill holds it.
    private func heldWithdrawal(_ lab: GatewayLab, nyc: PrometheusServer) async throws {
        _ = try await lab.waitSettled()
        let drill = Task {
            try await lab.meshgateCommand(
                .nyc1a, ["drill", "withdraw", "--subnet", LabRegion.nyc1.subnet, "--hold", "15", "--json"],
                timeout: .seconds(40))
        }
        let withdrawn = try await waitForProblem(
            lab, .nyc1a, "advertisement_withdrawn", subject: LabRegion.nyc1.subnet)
        #expect(withdrawn?.severity == "critical")
        try await expectReported(lab, .nyc1a, "advertisement_withdrawn", prometheus: nyc)
        let explain = try await lab.meshgateCommand(
            .fsn1a, ["explain", LabRegion.fsn1.hostAddress, LabRegion.nyc1.hostAddress])
        #expect(explain.status == .exited(1), "\(explain)")
        #expect(explain.standardOutput.contains("route at gw-fsn1-a"), "\(explain.standardOutput)")
        let result = try await drill.value
        #expect(result.succeeded, "the drill re-advertises and passes: \(result)")
        #expect(try await waitCleared(lab, .nyc1a, "advertisement_withdrawn"))
    }

    /// And the MSS clamp's table deleted under meshgated: put back, counted, a warning for 10 minutes.
    private func rulesetDeleted(_ lab: GatewayLab, fsn: PrometheusServer) async throws {
        try await lab.run(in: lab.namespace(.fsn1a), ["nft", "delete", "table", "inet", "meshgate"])
        let changed = try await waitForProblem(lab, .fsn1a, "mss_clamp_changed")
        #expect(changed?.message.contains("deleted") == true, "\(String(describing: changed))")
        #expect(try await lab.nftablesTables(.fsn1a).contains("table inet meshgate"), "reinstalled")
        let counted = try await lab.scrapeMetrics(.fsn1a).value("meshgate_ruleset_changes_total")
        #expect(counted == 1, "meshgate_ruleset_changes_total: \(counted ?? -1)")
        try await expectReported(lab, .fsn1a, "mss_clamp_changed", prometheus: fsn)
        let health = try await lab.meshgateCommand(.fsn1a, ["health"])
        #expect(health.status == .exited(1), "WARNING is exit 1: \(health)")
    }

    @Test("meshgate ping across regions prints the path and RTTs; routes and peers show the path probes")
    func pingAndPaths() async throws {
        let lab = try self.lab
        try await lab.makePrimary(.nyc1a)
        let ping = try await lab.meshgateCommand(.nyc1a, ["ping", LabRegion.fsn1.hostAddress, "-c", "5"])
        #expect(ping.succeeded, "\(ping)")
        #expect(ping.standardOutput.contains("via route \(LabRegion.fsn1.subnet) to gw-fsn1-a; tunnel up"), "\(ping)")
        #expect(ping.standardOutput.contains("5 sent, 5 received"), "\(ping)")
        Self.report("meshgate ping:\n\(ping.standardOutput)")
        let nowhere = try await lab.meshgateCommand(.nyc1a, ["ping", "10.99.0.1", "-c", "2"])
        #expect(nowhere.status == .exited(1), "nothing answers behind no route: \(nowhere)")

        // 20 s of probes: every one answered (the histogram counts answers only), and the figures printed.
        let subnet = ["subnet": LabRegion.fsn1.subnet]
        let before = try await lab.scrapeMetrics(.nyc1a).value("meshgate_path_rtt_seconds_count", subnet) ?? 0
        try await Task.sleep(for: .seconds(20))
        let routes = try await lab.meshgateCommand(.nyc1a, ["routes"])
        #expect(routes.standardOutput.contains("up "), "\(routes.standardOutput)")
        Self.report("meshgate routes on gw-nyc1-a:\n\(routes.standardOutput)")
        let peers = try await lab.meshgateCommand(.nyc1a, ["peers"])
        #expect(peers.standardOutput.contains("\(LabRegion.fsn1.subnet) up"), "\(peers.standardOutput)")
        let scrape = try await lab.scrapeMetrics(.nyc1a)
        #expect(
            scrape.value("meshgate_path_up", subnet.merging(["target": LabRegion.fsn1.hostAddress]) { a, _ in a }) == 1)
        let answered = (scrape.value("meshgate_path_rtt_seconds_count", subnet) ?? 0) - before
        #expect(answered >= 18, "path probes answered in 20 s: \(answered)")
        // The standby does not probe (the far side would drop its LAN-sourced probes).
        let standby = try await lab.scrapeMetrics(.nyc1b)
        #expect(standby.samples("meshgate_path_up").isEmpty)
        let health = try await lab.meshgateCommand(.nyc1a, ["health"])
        #expect(health.status == .exited(0), "\(health)")
        #expect(health.standardOutput.contains("OK"), "\(health)")
    }

    @Test(
        "drills fail when they should: LAN-to-LAN loss over --max-loss exits 1; a withdrawal that never converges is a timeout"
    )
    func drillsFail() async throws {
        let lab = try self.lab
        try await lab.makePrimary(.nyc1a)
        try await lab.makePrimary(.fsn1a)
        let pass = try await lab.meshgateCommand(.nyc1a, ["drill", "failover", "--group", "nyc1", "--json"])
        #expect(pass.succeeded, "\(pass)")
        #expect(pass.standardOutput.contains("\"passed\" : true"), "\(pass.standardOutput)")
        #expect(pass.standardOutput.contains("LAN to LAN"), "measured LAN to LAN: \(pass.standardOutput)")
        Self.report("drill failover: \(pass.standardOutput)")

        // 40% loss between the far primary and the standby that takes over: the drill must fail.
        _ = try await lab.waitSettled()
        try await lab.loss(.fsn1a, .nyc1b, percent: 40)
        let lossy = try await lab.meshgateCommand(
            .nyc1a, ["drill", "failover", "--group", "nyc1", "--max-loss", "5", "--json"])
        try await lab.heal()
        #expect(lossy.status == .exited(1), "\(lossy)")
        #expect(lossy.standardOutput.contains("\"passed\" : false"), "\(lossy.standardOutput)")
        #expect(lossy.standardOutput.contains("more than --max-loss 5.0%"), "\(lossy.standardOutput)")
        Self.report("lossy drill failover: \(lossy.standardOutput)")
        _ = try await lab.restoreBaseline()

        // On the standby, withdrawing changes nothing the far end sees (the primary still advertises).
        let primaries = try await lab.waitSettled()
        let standby = try #require(primaries[.nyc1]).partner
        let timeout = try await lab.meshgateCommand(
            standby, ["drill", "withdraw", "--subnet", LabRegion.nyc1.subnet], timeout: .seconds(40))
        #expect(timeout.status == .exited(1), "\(timeout)")
        #expect(timeout.standardOutput.contains("TIMED OUT"), "\(timeout.standardOutput)")
        #expect(timeout.standardOutput.contains("FAIL: timed out"), "\(timeout.standardOutput)")
    }
}
