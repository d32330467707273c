// Operating meshgated in the two-region namespace lab of scripts/gateway-lab.sh (issue 4): a real Prometheus
// server scraping a gateway and queried through its HTTP API, `promtool` on the raw exposition and on the
// shipped alert rules, live reload (`meshgate reload` and SIGHUP) and key rotation with LAN-to-LAN traffic
// running, key expiry, and the audit log parsed as JSON.
//
// One GatewayLab serves the suite (GatewayLabScope: brought up once, torn down at the end with a leak check).
// The suite is serialized, so its tests run in source order: each starts from a settled lab (and makes the
// gateway it acts on primary where that matters), and the audit-log test comes last because it checks the
// events the earlier tests caused.
//
// Traffic is `ping -D -i 0.01` from host-fsn1 to host-nyc1 (GatewayLab.measureTraffic): "nothing lost"
// means no echo request without a reply and no gap between replies of 100 ms or more (normal gaps are
// 10-30 ms here).
//
// Run (one --product per build):
//   flock /tmp/meshgate-swift.lock swift build --product meshgated &&
//   flock /tmp/meshgate-swift.lock swift build --product meshgate &&
//   flock /tmp/meshgate-swift.lock swift test --disable-xctest --filter OperationsLabTests

import Foundation
import Glibc
import MeshgateTestSupport
import Testing

@Suite(
    "meshgated operations in a two-region lab: Prometheus, reload, key rotation, key expiry, audit log",
    .serialized, .tags(.privileged), .requiresLab("nft", "curl", "prometheus", "promtool"), .gatewayLab)
struct OperationsLabTests {
    /// Longest acceptable gap between ping replies while an operation runs.
    static let noOutageBound = 100.0
    static let rulesFile = "\(LabEnvironment.packageRoot)/rootfs/etc/prometheus/meshgate-rules.yml"
    /// The subnet the reload test adds to gw-nyc1-a (RFC 1918; the VIP stays inside 10.10.10.0/24).
    static let addedSubnet = "10.10.20.0/24"

    var lab: GatewayLab {
        get throws { try #require(GatewayLabScope.current, "the suite's gateway lab is not up") }
    }

    static func report(_ text: String) { print("[operations lab] \(text)") }

    /// Appended to loss failures of reloads: the likely cause when the route-flap check fails too.
    static let flapHint =
        " (a reload deletes and re-adds the installed kernel routes for about a millisecond; see the ip monitor check)"

    // MARK: - 1. Prometheus

    /// The families every gateway exports from its first seconds (key expiry appears only with `key_expires`,
    /// drops only once something was dropped).
    static let alwaysExported = [
        "meshgate_peer_up", "meshgate_peer_last_handshake_timestamp_seconds", "meshgate_peer_receive_bytes_total",
        "meshgate_peer_transmit_bytes_total", "meshgate_peer_rtt_seconds", "meshgate_peer_probe_loss_ratio",
        "meshgate_route_primary", "meshgate_routes_installed", "meshgate_route_last_change_timestamp_seconds",
        "meshgate_failovers_total", "meshgate_failover_duration_seconds", "meshgate_ha_role",
        "meshgate_ip_forwarding_enabled", "meshgate_mss_clamped_packets_total", "meshgate_handshakes_total",
        "meshgate_build_info",
    ]

    @Test("promtool passes the rules and every gateway's raw /metrics, which match the kernel and the roles")
    func promtoolChecks() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let rules = try await Command.run(["promtool", "check", "rules", Self.rulesFile], check: false)
        #expect(rules.succeeded, "\(rules)")
        #expect(rules.standardOutput.contains("SUCCESS: 12 rules found"), "\(rules)")
        for gateway in LabGateway.allCases {
            let scrape = try await lab.scrapeMetrics(gateway)
            let check = try await Command.run(["promtool", "check", "metrics"], input: scrape.text, check: false)
            #expect(check.succeeded, "promtool check metrics on \(gateway)'s scrape: \(check)")
            #expect(
                (check.standardOutput + check.standardError).trimmed.isEmpty,
                "promtool lint findings on \(gateway): \(check)")
            for family in Self.alwaysExported {
                #expect(scrape.declares(family), "\(gateway) does not export \(family)")
            }
            // Values against reality: forwarding is on (the sysctls), the role is the election's.
            #expect(scrape.value("meshgate_ip_forwarding_enabled", ["family": "ipv4"]) == 1, "\(gateway)")
            #expect(scrape.value("meshgate_ip_forwarding_enabled", ["family": "ipv6"]) == 1, "\(gateway)")
            #expect(scrape.samples("meshgate_build_info").map(\.value) == [1], "\(gateway)")
            let isPrimary = primaries[gateway.region] == gateway
            #expect(
                scrape.value("meshgate_ha_role", ["group": gateway.region.group]) == (isPrimary ? 1 : 0),
                "\(gateway) primary \(isPrimary)")
            let installed = try await lab.status(gateway).routesInstalled
            #expect(scrape.value("meshgate_routes_installed") == Double(installed), "\(gateway)")
            let peers = Set(scrape.samples("meshgate_peer_up").compactMap { $0.labels["peer"] })
            #expect(peers == Set(LabGateway.allCases.filter { $0 != gateway }.map(\.name)), "\(gateway): \(peers)")
        }
    }

    @Test("a real Prometheus in gw-fsn1-a: peers up, bytes moved counted, SIGKILL of the nyc1 primary counted")
    func prometheusServer() async throws {
        let lab = try self.lab
        try await lab.makePrimary(.nyc1a)
        try await lab.makePrimary(.fsn1a)
        let prometheus = try await PrometheusServer.start(lab: lab, in: .fsn1a, ruleFiles: [Self.rulesFile])
        Self.report("prometheus on 127.0.0.1:\(prometheus.port) in \(prometheus.namespace)")
        do {
            try await checkWithPrometheus(lab, prometheus)
        } catch {
            await prometheus.stop()
            throw error
        }
        let stopped = await prometheus.stop()
        #expect(stopped == .exited(0), "prometheus did not stop cleanly: \(prometheus.process.result)")
        let leftover = ProcessTable.processes(commandLineContaining: prometheus.directory)
        #expect(leftover.isEmpty, "prometheus processes left running: \(leftover)")
    }

    private func checkWithPrometheus(_ lab: GatewayLab, _ prometheus: PrometheusServer) async throws {
        let target = try await prometheus.waitUntil("up{job=\"meshgate\"}", timeout: .seconds(15)) {
            $0.count == 1 && $0[0].value == 1
        }
        #expect(target.met, "gw-fsn1-a's /metrics not scraped: \(target.last)\n\(prometheus.logTail)")
        try #require(target.met)

        // The shipped rules load and evaluate without errors.
        var rules: [PrometheusRule] = []
        let evaluated = await pollUntil(timeout: .seconds(10), interval: .milliseconds(250)) { () -> Bool? in
            rules = (try? await prometheus.rules()) ?? []
            return rules.count == 12 && rules.allSatisfy { $0.health == "ok" } ? true : nil
        }
        #expect(evaluated == true, "rules as Prometheus evaluates them: \(rules)")

        // meshgate_peer_up is 1 for the three peers of gw-fsn1-a.
        let others = Set(LabGateway.allCases.filter { $0 != .fsn1a }.map(\.name))
        let peersUp = try await prometheus.waitUntil("meshgate_peer_up", timeout: .seconds(10)) { samples in
            Set(samples.compactMap { $0.labels["peer"] }) == others && samples.allSatisfy { $0.value == 1 }
        }
        #expect(peersUp.met, "meshgate_peer_up: \(peersUp.last)")

        // A TCP transfer host-nyc1 → host-fsn1 enters gw-fsn1-a from gw-nyc1-a (both primaries).
        let receive = "meshgate_peer_receive_bytes_total{peer=\"gw-nyc1-a\"}"
        let before = try #require(try await prometheus.query(receive).first?.value, "no \(receive)")
        let byteCount = 4 << 20
        let port = 5401
        let sink = try lab.startHelper(
            in: lab.hostNamespace(.fsn1),
            [LabEnvironment.python, "-u", "-c", LabScripts.tcpSink, LabRegion.fsn1.hostAddress, "\(port)"])
        #expect(await sink.waitForOutput(containing: "listening", timeout: .seconds(10)), "\(sink.result)")
        try await lab.run(
            in: lab.hostNamespace(.nyc1),
            [
                LabEnvironment.python, "-u", "-c", LabScripts.tcpSource, LabRegion.fsn1.hostAddress, "\(port)",
                "\(byteCount)", "3",
            ],
            timeout: .seconds(60))
        #expect(await sink.waitForExit(timeout: .seconds(10)) == .exited(0), "\(sink.result)")
        #expect(
            sink.standardOutput.contains("\(byteCount) "), "the sink did not receive \(byteCount) bytes: \(sink.result)"
        )
        let grown = try await prometheus.waitUntil(receive, timeout: .seconds(10)) {
            ($0.first?.value ?? 0) - before >= Double(byteCount)
        }
        let growth = (grown.last.first?.value ?? before) - before
        Self.report(
            "\(byteCount) bytes host-nyc1 → host-fsn1: \(receive) grew by \(Int(growth)) (x\(String(format: "%.3f", growth / Double(byteCount)))), seen after \(grown.elapsed)"
        )
        #expect(grown.met, "\(receive) grew by only \(growth) after \(byteCount) bytes crossed the tunnel")
        // Tunnel overhead is a few percent; more than a quarter on top would be counting something else.
        #expect(growth <= Double(byteCount) * 1.25, "\(receive) grew by \(growth) for \(byteCount) bytes")

        // SIGKILL of gw-nyc1-a, the nyc1 primary: what changes within seconds.
        let standbyBefore = try await lab.scrapeMetrics(.nyc1b)
        let failoversBefore = try #require(standbyBefore.value("meshgate_failovers_total", ["group": "nyc1"]))
        let durationsBefore = try #require(standbyBefore.value("meshgate_failover_duration_seconds_count"))
        let durationSumBefore = try #require(standbyBefore.value("meshgate_failover_duration_seconds_sum"))
        #expect(standbyBefore.value("meshgate_ha_role", ["group": "nyc1"]) == 0)
        let clock = ContinuousClock()
        try await lab.kill(.nyc1a)
        let killedAt = clock.now

        // On gw-nyc1-b (raw scrape: this Prometheus only reaches gw-fsn1-a's loopback).
        let promoted = await pollUntil(timeout: .seconds(5)) { () -> MetricsScrape? in
            guard let scrape = try? await lab.scrapeMetrics(.nyc1b) else { return nil }
            let done =
                scrape.value("meshgate_failovers_total", ["group": "nyc1"]) == failoversBefore + 1
                && scrape.value("meshgate_ha_role", ["group": "nyc1"]) == 1
                && scrape.value("meshgate_failover_duration_seconds_count") == durationsBefore + 1
            return done ? scrape : nil
        }
        let promotedAfter = killedAt.duration(to: clock.now)
        let standbyAfter = try await lab.scrapeMetrics(.nyc1b)
        let failoverSeconds = (standbyAfter.value("meshgate_failover_duration_seconds_sum") ?? .nan) - durationSumBefore
        Self.report(
            "SIGKILL of gw-nyc1-a: gw-nyc1-b counted the failover after \(promotedAfter), duration observed "
                + String(format: "%.3f s", failoverSeconds))
        #expect(
            promoted != nil,
            "gw-nyc1-b after the SIGKILL of gw-nyc1-a:\n\(standbyAfter.samples.filter { $0.name.contains("failover") || $0.name.contains("ha_role") })"
        )
        #expect(
            standbyAfter.value("meshgate_failovers_total", ["group": "nyc1"]) == failoversBefore + 1,
            "exactly one failover")
        #expect(failoverSeconds > 0 && failoverSeconds < 2, "failover duration observed: \(failoverSeconds) s")

        // On gw-fsn1-a, through Prometheus: the route's primary moved.
        let moved = try await prometheus.waitUntil(
            "meshgate_route_primary{subnet=\"\(LabRegion.nyc1.subnet)\"}", timeout: .seconds(6)
        ) { samples in
            samples.first { $0.labels["gateway"] == "gw-nyc1-b" }?.value == 1
                && samples.filter { $0.labels["gateway"] != "gw-nyc1-b" }.allSatisfy { $0.value == 0 }
        }
        Self.report("meshgate_route_primary on gw-fsn1-a after \(moved.elapsed): \(moved.last)")
        #expect(moved.met, "meshgate_route_primary{subnet=\"\(LabRegion.nyc1.subnet)\"}: \(moved.last)")

        // The quick honest signal of the dead peer: the overlay probes to it go unanswered.
        let lossy = try await prometheus.waitUntil(
            "meshgate_peer_probe_loss_ratio{peer=\"gw-nyc1-a\"}", timeout: .seconds(10)
        ) { ($0.first?.value ?? 0) > 0 }
        #expect(lossy.met, "probe loss to the killed gw-nyc1-a: \(lossy.last)")
        // The peer is marked down once its probes go unanswered for 5 s (its session would last 180 s).
        let down = try await prometheus.waitUntil("meshgate_peer_up{peer=\"gw-nyc1-a\"}", timeout: .seconds(15)) {
            $0.first?.value == 0
        }
        Self.report(
            "\(killedAt.duration(to: clock.now)) after the SIGKILL: probe loss to gw-nyc1-a \(lossy.last.first?.value ?? .nan), "
                + "meshgate_peer_up{peer=\"gw-nyc1-a\"} = \(down.last.first?.value.description ?? "absent") after \(down.elapsed)"
        )
        #expect(down.met, "meshgate_peer_up{peer=\"gw-nyc1-a\"} after the SIGKILL: \(down.last)")
    }

    // MARK: - 2. Live reload

    @Test(
        "reload with traffic running adds a subnet: gw-fsn1-a routes it via gw-nyc1-a (kernel proto 88), nothing lost")
    func reloadAddsAndRemovesSubnet() async throws {
        let lab = try self.lab
        try await lab.makePrimary(.nyc1a)
        let original = try lab.readConfig(.nyc1a)
        let extended = try ConfigEdit.replacing(
            LabRegion.nyc1.advertiseLine, with: "advertise: [\(LabRegion.nyc1.advertiseEntry), \(Self.addedSubnet)]",
            in: original)
        let auditBefore = lab.auditLog(.nyc1a).events.count
        let fsn1AuditBefore = lab.auditLog(.fsn1a).events.count
        // Every change of gw-nyc1-a's kernel routes during the reload.
        let monitor = try lab.startHelper(in: lab.namespace(.nyc1a), ["ip", "monitor", "route"])
        try await Task.sleep(for: .milliseconds(300))
        let (reload, traffic) = try await lab.measureTraffic {
            try lab.writeConfig(.nyc1a, extended)
            return try await lab.reloadConfig(.nyc1a)
        }
        monitor.sendToGroup(signal: SIGTERM)
        await monitor.waitForExit(timeout: .seconds(5))
        Self.report("reload adding \(Self.addedSubnet) on gw-nyc1-a: \(reload.standardOutput.trimmed); \(traffic)")
        #expect(reload.succeeded, "\(reload)")
        #expect(reload.standardOutput.contains("advertise added: \(Self.addedSubnet)"), "\(reload)")
        #expect(traffic.lostSequences.isEmpty, "\(traffic)\(Self.flapHint)")
        #expect(traffic.outage.longestGapMilliseconds < Self.noOutageBound, "\(traffic)")
        // Applied as a diff: the routes gw-nyc1-a already had installed stay in the kernel untouched.
        let deleted = monitor.standardOutput.split(separator: "\n").filter { $0.hasPrefix("Deleted") }
        #expect(
            deleted.isEmpty,
            "a reload that only adds an advertised subnet deleted (and re-added) installed routes on gw-nyc1-a:\n\(monitor.standardOutput)"
        )

        let learned = await pollUntil(timeout: .seconds(3)) { () -> MeshRoute? in
            try? await lab.routes(.fsn1a).first { $0.subnet == Self.addedSubnet && $0.installed }
        }
        #expect(
            learned?.via == "gw-nyc1-a", "gw-fsn1-a's route for \(Self.addedSubnet): \(String(describing: learned))")
        #expect(learned?.advertisers == ["gw-nyc1-a"], "\(String(describing: learned))")
        let kernel = try await lab.kernelRoutes(.fsn1a).filter { $0.dst == Self.addedSubnet }
        #expect(kernel.count == 1, "gw-fsn1-a kernel routes for \(Self.addedSubnet): \(kernel)")
        #expect(kernel.first?.protocol == "88" || kernel.first?.protocol == "meshgate", "\(kernel)")
        #expect(kernel.first?.dev == lab.interfaceName(.fsn1a), "\(kernel)")
        #expect(try await lab.status(.nyc1a).advertised == [LabRegion.nyc1.subnet, Self.addedSubnet])

        let reloaded = await lab.waitForAudit(.nyc1a, skipping: auditBefore) { $0.event == "config_reloaded" }
        #expect(
            reloaded?["diff"]?.contains("advertise added: \(Self.addedSubnet)") == true,
            "\(String(describing: reloaded))")
        let advertised = await lab.waitForAudit(.fsn1a, skipping: fsn1AuditBefore) {
            $0.event == "route_advertised" && $0["subnet"] == Self.addedSubnet
        }
        #expect(advertised?["gateway"] == "gw-nyc1-a", "\(String(describing: advertised))")
        let primary = await pollUntil(timeout: .seconds(3)) { () -> Double? in
            let value = try? await lab.scrapeMetrics(.fsn1a).value(
                "meshgate_route_primary", ["subnet": Self.addedSubnet, "gateway": "gw-nyc1-a"])
            return value == 1 ? value : nil
        }
        #expect(primary == 1, "meshgate_route_primary for \(Self.addedSubnet) on gw-fsn1-a")

        // Back to the original file: the subnet is withdrawn everywhere, again without loss.
        let (restore, restoreTraffic) = try await lab.measureTraffic {
            try lab.writeConfig(.nyc1a, original)
            return try await lab.reloadConfig(.nyc1a)
        }
        Self.report("reload removing \(Self.addedSubnet): \(restore.standardOutput.trimmed); \(restoreTraffic)")
        #expect(
            restore.succeeded && restore.standardOutput.contains("advertise removed: \(Self.addedSubnet)"), "\(restore)"
        )
        #expect(restoreTraffic.lostSequences.isEmpty, "\(restoreTraffic)\(Self.flapHint)")
        #expect(restoreTraffic.outage.longestGapMilliseconds < Self.noOutageBound, "\(restoreTraffic)")
        let gone = await pollUntil(timeout: .seconds(3)) { () -> Bool? in
            let routes = (try? await lab.routes(.fsn1a)) ?? []
            let kernel = (try? await lab.kernelRoutes(.fsn1a)) ?? []
            return routes.contains { $0.subnet == Self.addedSubnet } || kernel.contains { $0.dst == Self.addedSubnet }
                ? nil : true
        }
        #expect(gone == true, "gw-fsn1-a still routes \(Self.addedSubnet) after it was withdrawn")
        // A subnet nobody advertises any more must leave /metrics; a series stuck at 1 claims a primary that
        // does not exist, and one at 0 would fire MeshgateRouteWithoutPrimary for a subnet that is gone.
        var series: [MetricSample] = []
        let metricGone = await pollUntil(timeout: .seconds(3), interval: .milliseconds(250)) { () -> Bool? in
            series =
                (try? await lab.scrapeMetrics(.fsn1a).samples("meshgate_route_primary", ["subnet": Self.addedSubnet]))
                ?? []
            return series.isEmpty ? true : nil
        }
        #expect(
            metricGone == true,
            "gw-fsn1-a still exports meshgate_route_primary for the withdrawn \(Self.addedSubnet) 3 s later: \(series)")
    }

    @Test("an invalid reload (unknown key) is refused by `meshgate reload` and by SIGHUP; the running config stays")
    func invalidReloadRefused() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        let original = try lab.readConfig(.nyc1a)
        let invalid = try ConfigEdit.replacing(
            "  mtu: 1280\n", with: "  mtu: 1280\n  bogus_option: true\n", in: original)
        let statusBefore = try await lab.status(.nyc1a)
        let remoteBefore = try await lab.routes(.fsn1a).map { "\($0.subnet) via \($0.via ?? "-")" }
        let kernelBefore = Set(try await lab.meshgateRoutes(.nyc1a))
        let auditBefore = lab.auditLog(.nyc1a).events.count

        try lab.writeConfig(.nyc1a, invalid)
        let reload = try await lab.reloadConfig(.nyc1a)
        Self.report("invalid reload: \(reload.status): \(reload.standardError.trimmed)")
        #expect(reload.status == .exited(1), "\(reload)")
        #expect(reload.standardError.contains("overlay.bogus_option"), "the refusal must name the key: \(reload)")
        #expect(reload.standardError.contains("running configuration unchanged"), "\(reload)")
        let rejected = await lab.waitForAudit(.nyc1a, skipping: auditBefore) { $0.event == "config_rejected" }
        #expect(rejected?["reason"]?.contains("overlay.bogus_option") == true, "\(String(describing: rejected))")
        try await expectUnchanged(lab, statusBefore, remoteBefore, kernelBefore, "after the refused `meshgate reload`")

        // SIGHUP with the same file: refused the same way, the daemon keeps running.
        let pid = try #require(lab.daemonPID(.nyc1a))
        let rejectedCount = lab.auditLog(.nyc1a).events.count
        #expect(kill(pid, SIGHUP) == 0)
        let hupRejected = await lab.waitForAudit(.nyc1a, skipping: rejectedCount) { $0.event == "config_rejected" }
        #expect(
            hupRejected?["reason"]?.contains("overlay.bogus_option") == true,
            "SIGHUP: \(String(describing: hupRejected))\n\(lab.logTail(.nyc1a))")
        try await Task.sleep(for: .milliseconds(500))
        #expect(
            lab.isRunning(.nyc1a) && lab.daemonPID(.nyc1a) == pid, "meshgated died on SIGHUP:\n\(lab.logTail(.nyc1a))")
        try await expectUnchanged(lab, statusBefore, remoteBefore, kernelBefore, "after the refused SIGHUP")

        // SIGHUP with a valid change applies it (priority), and again to put it back.
        for (from, to) in [("priority: 200", "priority: 150"), ("priority: 150", "priority: 200")] {
            let count = lab.auditLog(.nyc1a).events.count
            let text = try ConfigEdit.replacing(
                from, with: to, in: from == "priority: 200" ? original : lab.readConfig(.nyc1a))
            try lab.writeConfig(.nyc1a, text)
            #expect(kill(pid, SIGHUP) == 0)
            let applied = await lab.waitForAudit(.nyc1a, skipping: count) {
                $0.event == "config_reloaded" || $0.event == "config_rejected"
            }
            #expect(applied?.event == "config_reloaded", "SIGHUP \(from) → \(to): \(String(describing: applied))")
            #expect(applied?["diff"]?.contains("ha.priority") == true, "\(String(describing: applied))")
        }
        #expect(try lab.readConfig(.nyc1a) == original)
        #expect(lab.isRunning(.nyc1a) && lab.daemonPID(.nyc1a) == pid)
        try await lab.waitSettled()
    }

    private func expectUnchanged(
        _ lab: GatewayLab, _ status: GatewayStatus, _ remote: [String], _ kernel: Set<KernelRoute>, _ context: String
    ) async throws {
        let now = try await lab.status(.nyc1a)
        #expect(now.advertised == status.advertised, "\(context): advertised \(now.advertised)")
        #expect(now.group?.role == status.group?.role, "\(context): role \(String(describing: now.group))")
        #expect(now.publicKey == status.publicKey, "\(context): public key")
        let remoteNow = try await lab.routes(.fsn1a).map { "\($0.subnet) via \($0.via ?? "-")" }
        #expect(remoteNow == remote, "\(context): gw-fsn1-a routes \(remoteNow), before \(remote)")
        let kernelNow = Set(try await lab.meshgateRoutes(.nyc1a))
        #expect(kernelNow == kernel, "\(context): gw-nyc1-a kernel routes changed: \(kernelNow), before \(kernel)")
    }

    @Test("a peer removed by reload leaves WireGuard, routes and metrics; re-added it comes back; traffic undisturbed")
    func reloadRemovesAndReaddsPeer() async throws {
        let lab = try self.lab
        try await lab.makePrimary(.nyc1a)
        try await lab.makePrimary(.fsn1a)
        let original = try lab.readConfig(.nyc1a)
        let removedKey = try #require(try await lab.peerStatuses(.nyc1a).first { $0.name == "gw-fsn1-b" }?.publicKey)
        let without = try ConfigEdit.removingPeer("gw-fsn1-b", from: original)
        let auditBefore = lab.auditLog(.nyc1a).events.count

        let (removal, traffic) = try await lab.measureTraffic {
            try lab.writeConfig(.nyc1a, without)
            return try await lab.reloadConfig(.nyc1a)
        }
        Self.report("reload removing peer gw-fsn1-b on gw-nyc1-a: \(removal.standardOutput.trimmed); \(traffic)")
        #expect(removal.succeeded && removal.standardOutput.contains("peers removed: gw-fsn1-b"), "\(removal)")
        #expect(traffic.lostSequences.isEmpty, "\(traffic)\(Self.flapHint)")
        #expect(traffic.outage.longestGapMilliseconds < Self.noOutageBound, "\(traffic)")
        let wgPeers = try await lab.wireGuardPeers(.nyc1a)
        #expect(!wgPeers.contains(removedKey) && wgPeers.count == 2, "wg show peers on gw-nyc1-a: \(wgPeers)")
        #expect(try await lab.peerStatuses(.nyc1a).map(\.name).sorted() == ["gw-fsn1-a", "gw-nyc1-b"])
        let overlayRoutes = try await lab.meshgateRoutes(.nyc1a).map(\.dst)
        let removedOverlay = LabGateway.fsn1b.overlayAddress
        #expect(
            !overlayRoutes.contains(removedOverlay) && !overlayRoutes.contains(removedOverlay + "/32"),
            "\(overlayRoutes)")
        let remote = try await lab.routes(.nyc1a).first { $0.subnet == LabRegion.fsn1.subnet }
        #expect(remote?.advertisers == ["gw-fsn1-a"] && remote?.via == "gw-fsn1-a", "\(String(describing: remote))")
        let reloaded = await lab.waitForAudit(.nyc1a, skipping: auditBefore) { $0.event == "config_reloaded" }
        #expect(reloaded?["diff"] == "peers removed: gw-fsn1-b", "\(String(describing: reloaded))")
        // The removed peer's series leave /metrics (the registry has removePeer(name:) for this).
        var leftover: [MetricSample] = []
        let metricsGone = await pollUntil(timeout: .seconds(3), interval: .milliseconds(250)) { () -> Bool? in
            leftover = ((try? await lab.scrapeMetrics(.nyc1a).samples) ?? []).filter {
                $0.labels["peer"] == "gw-fsn1-b"
            }
            return leftover.isEmpty ? true : nil
        }
        #expect(
            metricsGone == true,
            "gw-nyc1-a still exports gw-fsn1-b 3 s after the reload removed it: \(leftover.filter { !$0.name.hasSuffix("_bucket") })"
        )

        // Re-added: the tunnel, its route and its metrics come back.
        let count = lab.auditLog(.nyc1a).events.count
        try lab.writeConfig(.nyc1a, original)
        let readd = try await lab.reloadConfig(.nyc1a)
        #expect(readd.succeeded && readd.standardOutput.contains("peers added: gw-fsn1-b"), "\(readd)")
        let clock = ContinuousClock()
        let started = clock.now
        let back = await pollUntil(timeout: .seconds(10)) { () -> PeerStatus? in
            guard let peer = try? await lab.peerStatuses(.nyc1a).first(where: { $0.name == "gw-fsn1-b" }), peer.up,
                (try? await lab.wireGuardPeers(.nyc1a))?.contains(removedKey) == true,
                (try? await lab.meshgateRoutes(.nyc1a))?.contains(where: { $0.dst == LabGateway.fsn1b.overlayAddress })
                    == true,
                (try? await lab.routes(.nyc1a))?.first(where: { $0.subnet == LabRegion.fsn1.subnet })?.advertisers
                    .contains("gw-fsn1-b") == true
            else { return nil }
            return peer
        }
        Self.report(
            "gw-fsn1-b re-added on gw-nyc1-a: up with route and advertisement after \(started.duration(to: clock.now))")
        #expect(back != nil, "gw-fsn1-b did not come back on gw-nyc1-a:\n\(lab.logTail(.nyc1a))")
        let joined = await lab.waitForAudit(.nyc1a, skipping: count) {
            $0.event == "peer_joined" && $0["peer"] == "gw-fsn1-b"
        }
        #expect(joined != nil, "no peer_joined for the re-added gw-fsn1-b")
        let up = await pollUntil(timeout: .seconds(3)) { () -> Double? in
            let value = try? await lab.scrapeMetrics(.nyc1a).value("meshgate_peer_up", ["peer": "gw-fsn1-b"])
            return value == 1 ? value : nil
        }
        #expect(up == 1, "meshgate_peer_up{peer=\"gw-fsn1-b\"} on gw-nyc1-a after re-adding")
        try await lab.waitSettled()
    }

    // MARK: - 3. Key rotation

    @Test(
        "rotate-key on the nyc1 primary with traffic running: nothing lost, key file and peers agree; drill reports no loss"
    )
    func keyRotation() async throws {
        let lab = try self.lab
        try await lab.makePrimary(.nyc1a)
        let keyFile = "\(lab.directory(.nyc1a))/private.key"
        let originalPublic = try await lab.status(.nyc1a).publicKey
        let oldPrivate = try String(contentsOfFile: keyFile, encoding: .utf8)
        let auditBefore = Dictionary(
            uniqueKeysWithValues: LabGateway.allCases.map { ($0, lab.auditLog($0).events.count) })

        let (rotation, traffic) = try await lab.measureTraffic { try await lab.meshgateCommand(.nyc1a, ["rotate-key"]) }
        Self.report("rotate-key on gw-nyc1-a: \(rotation.standardOutput.trimmed); \(traffic)")
        #expect(rotation.succeeded, "\(rotation)")
        #expect(traffic.lostSequences.isEmpty, "\(traffic)")
        #expect(traffic.outage.longestGapMilliseconds < Self.noOutageBound, "\(traffic)")

        let newPublic = try await expectKeyAgreed(
            lab, keyFile: keyFile, previousPrivate: oldPrivate, previousPublic: originalPublic)
        #expect(rotation.standardOutput.contains(newPublic), "\(rotation)")
        let own = await lab.waitForAudit(.nyc1a, skipping: auditBefore[.nyc1a]!) { $0.event == "key_rotated" }
        #expect(own?["peer"] == "gw-nyc1-a" && own?["public_key"] == newPublic, "\(String(describing: own))")
        for gateway in LabGateway.allCases where gateway != .nyc1a {
            let seen = await lab.waitForAudit(gateway, skipping: auditBefore[gateway]!) { $0.event == "key_rotated" }
            #expect(
                seen?["peer"] == "gw-nyc1-a" && seen?["public_key"] == newPublic,
                "\(gateway): \(String(describing: seen))")
        }

        // The drill: rotate again while the daemon probes. Its convergence test compares whole seconds, so
        // let the handshakes of the first rotation age first.
        try await Task.sleep(for: .milliseconds(1500))
        let drillStarted = Int(Date().timeIntervalSince1970)
        let privateBeforeDrill = try String(contentsOfFile: keyFile, encoding: .utf8)
        let ((figures, drillError, drillResult), drillTraffic) = try await lab.measureTraffic {
            try await lab.drillKeyRotation(on: .nyc1a)
        }
        Self.report("drill key-rotation: \(figures.map { "\($0)" } ?? "no figures"); LAN-to-LAN \(drillTraffic)")
        #expect(drillError == nil, "\(drillError ?? ""): \(drillResult)")
        let drill = try #require(figures, "\(drillResult)")
        #expect(drill.kind == "key-rotation")
        // Probes go every 5 ms; "no loss" allows one probe caught in flight.
        #expect(drill.probesLost <= 1, "\(drill)")
        #expect(drill.probesSent > 50, "\(drill)")
        #expect((drill.convergenceMilliseconds ?? .infinity) < 1000, "\(drill)")
        #expect(drillTraffic.lostSequences.isEmpty, "\(drillTraffic)")
        #expect(drillTraffic.outage.longestGapMilliseconds < Self.noOutageBound, "\(drillTraffic)")
        let drilledPublic = try await expectKeyAgreed(
            lab, keyFile: keyFile, previousPrivate: privateBeforeDrill, previousPublic: newPublic)
        #expect(drill.notes.contains { $0.contains(drilledPublic) }, "\(drill.notes)")
        // The drill's "converged" means every live peer completed a handshake under the new key: check it.
        for gateway in LabGateway.allCases where gateway != .nyc1a {
            let handshakes = try await lab.latestHandshakes(gateway)
            #expect((handshakes[drilledPublic] ?? 0) >= drillStarted, "\(gateway) latest handshakes: \(handshakes)")
        }

        // The operator updates the shared peer list (as rotate-key asks) and reloads every gateway. The peers
        // already use the new key, so nothing changes for their tunnels: no new handshake, nothing lost.
        // (latest-handshakes has whole seconds: let the drill's handshakes age a second first.)
        try await Task.sleep(for: .milliseconds(1100))
        var handshakesBefore: [LabGateway: Int] = [:]
        for gateway in LabGateway.allCases where gateway != .nyc1a {
            handshakesBefore[gateway] = try await lab.latestHandshakes(gateway)[drilledPublic] ?? 0
        }
        let (reloads, listTraffic) = try await lab.measureTraffic { () -> [LabGateway: CommandResult] in
            var results: [LabGateway: CommandResult] = [:]
            for gateway in LabGateway.allCases {
                try lab.writeConfig(
                    gateway, try ConfigEdit.replacing(originalPublic, with: drilledPublic, in: lab.readConfig(gateway)))
                results[gateway] = try await lab.reloadConfig(gateway)
            }
            return results
        }
        Self.report("shared peer list updated with gw-nyc1-a's new key and reloaded on all four: \(listTraffic)")
        for (gateway, result) in reloads {
            // gw-nyc1-a's own entry is not a peer of gw-nyc1-a: nothing to apply there.
            let expected = gateway == .nyc1a ? "no changes" : "peer gw-nyc1-a changed: public_key"
            #expect(result.succeeded && result.standardOutput.contains(expected), "\(gateway): \(result)")
        }
        #expect(listTraffic.lostSequences.isEmpty, "\(listTraffic)\(Self.flapHint)")
        #expect(listTraffic.outage.longestGapMilliseconds < Self.noOutageBound, "\(listTraffic)")
        for gateway in LabGateway.allCases where gateway != .nyc1a {
            let after = try await lab.latestHandshakes(gateway)[drilledPublic] ?? 0
            Self.report(
                "\(gateway)'s tunnel to gw-nyc1-a after the peer-list reload: "
                    + (after > handshakesBefore[gateway]!
                        ? "session dropped and re-established with a new handshake" : "kept"))
            #expect(
                after == handshakesBefore[gateway],
                "reloading \(gateway) with the key gw-nyc1-a already announced replaced the peer: its session was dropped and a new handshake made (latest handshake \(handshakesBefore[gateway]!) → \(after))"
            )
        }
        for gateway in LabGateway.allCases where gateway != .nyc1a {
            #expect(try await lab.peerStatuses(gateway).first { $0.name == "gw-nyc1-a" }?.publicKey == drilledPublic)
        }
        try await lab.waitSettled()
    }

    /// Checks that the key file changed, is private, and that `wg pubkey` of it is what gw-nyc1-a and every
    /// peer (CLI and `wg show`) now use; returns that public key.
    private func expectKeyAgreed(
        _ lab: GatewayLab, keyFile: String, previousPrivate: String, previousPublic: String
    ) async throws -> String {
        let newPrivate = try String(contentsOfFile: keyFile, encoding: .utf8)
        #expect(newPrivate != previousPrivate, "the key file did not change")
        var info = stat()
        #expect(
            stat(keyFile, &info) == 0 && info.st_mode & 0o777 == 0o600,
            "key file mode \(String(info.st_mode & 0o777, radix: 8))")
        let derived = try await Command.run(["wg", "pubkey"], input: newPrivate).standardOutput.trimmed
        #expect(derived != previousPublic && derived.count == 44, "wg pubkey of the new key file: \(derived)")
        #expect(try await lab.status(.nyc1a).publicKey == derived)
        for gateway in LabGateway.allCases where gateway != .nyc1a {
            let reported = try await lab.peerStatuses(gateway).first { $0.name == "gw-nyc1-a" }
            #expect(reported?.publicKey == derived, "\(gateway) reports gw-nyc1-a as \(String(describing: reported))")
            #expect(reported?.up == true, "\(gateway): \(String(describing: reported))")
            let keys = try await lab.wireGuardPeers(gateway)
            #expect(keys.contains(derived) && !keys.contains(previousPublic), "\(gateway) wg show peers: \(keys)")
        }
        return derived
    }

    // MARK: - 5. Key expiry

    @Test(
        "key_expires in the past (by reload) drops the peer from WireGuard within 2 s with key_expired; within 7 days warns"
    )
    func keyExpiry() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        let original = try lab.readConfig(.nyc1a)
        let key = try #require(try await lab.peerStatuses(.nyc1a).first { $0.name == "gw-fsn1-b" }?.publicKey)
        let past = "2020-01-01T00:00:00Z"
        let pastSeconds = 1_577_836_800.0
        var auditCount = lab.auditLog(.nyc1a).events.count

        try lab.writeConfig(
            .nyc1a, try ConfigEdit.addingPeerSetting("key_expires: \(past)", toPeer: "gw-fsn1-b", in: original))
        let expire = try await lab.reloadConfig(.nyc1a)
        let clock = ContinuousClock()
        let reloadedAt = clock.now
        #expect(expire.succeeded && expire.standardOutput.contains("peer gw-fsn1-b changed: key_expires"), "\(expire)")
        let dropped = await pollUntil(timeout: .seconds(4), interval: .milliseconds(50)) { () -> Duration? in
            guard let peers = try? await lab.wireGuardPeers(.nyc1a), !peers.contains(key) else { return nil }
            return reloadedAt.duration(to: clock.now)
        }
        let expired = await lab.waitForAudit(.nyc1a, skipping: auditCount, timeout: .seconds(1)) {
            $0.event == "key_expired" && $0["peer"] == "gw-fsn1-b"
        }
        let auditedAfter = reloadedAt.duration(to: clock.now)
        Self.report(
            "key_expires \(past) for gw-fsn1-b on gw-nyc1-a: out of `wg show peers` after \(dropped.map { "\($0)" } ?? "never"); key_expired audited by \(auditedAfter)"
        )
        let drop = try #require(dropped, "gw-fsn1-b is still a WireGuard peer of gw-nyc1-a 4 s after its key expired")
        #expect(drop < .seconds(2), "dropped only after \(drop)")
        #expect(expired?["expired"] == past, "\(String(describing: expired))")
        #expect(
            lab.humanLog(.nyc1a).contains { $0.contains("key of peer gw-fsn1-b expired") }, "no log line for the expiry"
        )
        let expiryMetric = try await lab.scrapeMetrics(.nyc1a).value(
            "meshgate_peer_key_expiry_timestamp_seconds", ["peer": "gw-fsn1-b"])
        #expect(
            expiryMetric == pastSeconds && (expiryMetric ?? .infinity) < Date().timeIntervalSince1970,
            "\(String(describing: expiryMetric))")
        let down = await pollUntil(timeout: .seconds(3)) { () -> Double? in
            let value = try? await lab.scrapeMetrics(.nyc1a).value("meshgate_peer_up", ["peer": "gw-fsn1-b"])
            return value == 0 ? value : nil
        }
        #expect(down == 0, "meshgate_peer_up{peer=\"gw-fsn1-b\"} on gw-nyc1-a after its key expired")

        // Within 7 days: a warning, and the (not yet expired) key is accepted again.
        let soonDate = Date().addingTimeInterval(3 * 86_400)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        let soon = formatter.string(from: soonDate)
        auditCount = lab.auditLog(.nyc1a).events.count
        try lab.writeConfig(
            .nyc1a, try ConfigEdit.addingPeerSetting("key_expires: \(soon)", toPeer: "gw-fsn1-b", in: original))
        let warn = try await lab.reloadConfig(.nyc1a)
        #expect(warn.succeeded, "\(warn)")
        let expiring = await lab.waitForAudit(.nyc1a, skipping: auditCount) {
            $0.event == "key_expiring" && $0["peer"] == "gw-fsn1-b"
        }
        Self.report("key_expires \(soon): \(expiring?.line ?? "no key_expiring line")")
        #expect(expiring?["expires"] == soon, "\(String(describing: expiring))")
        let daysLeft = Double(expiring?["days_left"] ?? "")
        #expect(daysLeft.map { $0 > 2.9 && $0 <= 3 } == true, "\(String(describing: expiring))")
        #expect(try await lab.wireGuardPeers(.nyc1a).contains(key), "a key that has not expired is accepted again")
        let soonMetric = try await lab.scrapeMetrics(.nyc1a).value(
            "meshgate_peer_key_expiry_timestamp_seconds", ["peer": "gw-fsn1-b"])
        #expect(
            soonMetric.map { abs($0 - soonDate.timeIntervalSince1970.rounded(.down)) < 1 } == true,
            "\(String(describing: soonMetric))")

        // Restored: no expiry, the tunnel and the metrics are as before.
        try lab.writeConfig(.nyc1a, original)
        let restore = try await lab.reloadConfig(.nyc1a)
        #expect(restore.succeeded, "\(restore)")
        let back = await pollUntil(timeout: .seconds(10)) { () -> Bool? in
            guard let peer = try? await lab.peerStatuses(.nyc1a).first(where: { $0.name == "gw-fsn1-b" }), peer.up,
                let scrape = try? await lab.scrapeMetrics(.nyc1a),
                scrape.value("meshgate_peer_up", ["peer": "gw-fsn1-b"]) == 1,
                scrape.samples("meshgate_peer_key_expiry_timestamp_seconds").isEmpty
            else { return nil }
            return true
        }
        #expect(back == true, "gw-fsn1-b not back to normal on gw-nyc1-a after restoring the config")
        #expect(try await lab.wireGuardPeers(.nyc1a).contains(key))
        try await lab.waitSettled()
    }

    // MARK: - 4. Audit log (last: checks what the tests above caused)

    @Test("every audit line of every gateway is a JSON object with event, node and ts; the suite's events are there")
    func auditLog() async throws {
        let lab = try self.lab
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var events: [AuditEvent] = []
        for gateway in LabGateway.allCases {
            let reading = lab.auditLog(gateway)
            #expect(reading.malformed.isEmpty, "\(gateway): \(reading.malformed.prefix(5))")
            #expect(
                reading.torn.isEmpty, "\(gateway) audit records not at the start of a line: \(reading.torn.prefix(5))")
            #expect(!reading.events.isEmpty, "\(gateway) logged no audit line")
            for event in reading.events {
                #expect(event.node == gateway.name, "\(event)")
                #expect(!event.event.isEmpty, "\(event)")
                #expect(formatter.date(from: event.timestamp) != nil, "ts is not RFC 3339 with fractions: \(event)")
            }
            events += reading.events
        }
        var counts: [String: Int] = [:]
        for event in events { counts[event.event, default: 0] += 1 }
        Self.report(
            "audit events of the run: \(counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))"
        )

        for name in [
            "peer_joined", "route_advertised", "primary_changed", "config_reloaded", "config_rejected", "key_rotated",
            "key_expired", "key_expiring",
        ] {
            #expect(
                counts[name, default: 0] > 0, "no \(name) audit line (run the whole suite: earlier tests cause them)")
        }
        for event in events where event.event == "primary_changed" {
            #expect(!(event["reason"] ?? "").isEmpty, "primary_changed without a reason: \(event)")
        }
        for event in events where event.event == "config_reloaded" {
            let diff = event["diff"] ?? ""
            #expect(!diff.isEmpty && diff != "no changes", "config_reloaded without a diff: \(event)")
        }
        for event in events where event.event == "config_rejected" {
            #expect(!(event["reason"] ?? "").isEmpty, "config_rejected without a reason: \(event)")
        }
        for event in events where event.event == "peer_joined" || event.event == "key_rotated" {
            #expect(LabGateway(name: event["peer"] ?? "") != nil, "\(event)")
        }
        // The SIGKILL of the nyc1 primary: its partner took over for a stated reason, and the remote gateways
        // saw the subnet move.
        #expect(
            events.contains {
                $0.gateway == .nyc1b && $0.event == "primary_changed" && $0["role"] == "primary"
                    && ($0["reason"] ?? "").contains("gw-nyc1-a")
            }, "no primary_changed on gw-nyc1-b naming gw-nyc1-a")
        #expect(
            events.contains {
                $0.gateway == .fsn1a && $0.event == "primary_changed" && $0["subnet"] == LabRegion.nyc1.subnet
                    && $0["to"] == "gw-nyc1-b"
            }, "no primary_changed on gw-fsn1-a moving \(LabRegion.nyc1.subnet) to gw-nyc1-b")
    }
}
