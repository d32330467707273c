// meshgated in the two-region namespace lab of scripts/gateway-lab.sh: traffic between the regions' LAN
// hosts, what the daemons program into the kernel, and what failures of a region's primary cost.
//
// One lab serves the whole suite (brought up once, torn down at the end with a leak check). Every test
// starts by undoing whatever an earlier test may have left (partitions, links down, stopped daemons) and
// waiting until the lab has settled, so the tests do not depend on their order. Elections are
// non-preemptive, so which member of a pair is primary changes from test to test: tests act on the
// primary (or standby) they find.
//
// Outages are measured from host-fsn1 to host-nyc1 with `ping -D -i 0.01` as the longest gap between
// reply timestamps, the end of the run counting as one (see GatewayLab.measureOutage). Bounds: the
// issue's target for unplanned failover is 1 s; a planned step-down may lose 100 ms of traffic; a clean
// restart of a standby should not be visible at all (normal gaps here are 10-30 ms).
//
// Run (one --product per build: `swift build --product meshgated --product meshgate` builds only meshgate):
//   flock /tmp/meshgate-swift.lock swift build --product meshgated &&
//   flock /tmp/meshgate-swift.lock swift build --product meshgate &&
//   flock /tmp/meshgate-swift.lock swift test --filter GatewayLabTests

import Foundation
import MeshgateTestSupport
import Testing

@Suite(
    "meshgated in a two-region namespace lab", .serialized, .tags(.privileged), .requiresLab("nft", "tshark"),
    .gatewayLab)
struct GatewayLabTests {
    /// Unplanned failover (SIGKILL, link cut, LAN cut, partition): the issue's target.
    static let unplannedBound = 1000.0
    /// A planned step-down loses at most 100 ms of traffic; plus 50 ms for ping's 10 ms interval
    /// stretching to about 16 ms and for scheduling on two shared cores.
    static let plannedBound = 150.0
    /// "No outage": ordinary gaps between replies are 10-30 ms here; anything near 150 ms is a hiccup.
    static let noOutageBound = 150.0

    var lab: GatewayLab {
        get throws { try #require(GatewayLabScope.current, "the suite's gateway lab is not up") }
    }

    static func report(_ text: String) { print("[gateway lab] \(text)") }

    // MARK: - (a) traffic between the regions

    @Test("LAN hosts ping each other across the mesh and a TCP transfer arrives intact both ways")
    func lanToLanTraffic() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        for (from, to) in [(LabRegion.nyc1, LabRegion.fsn1), (.fsn1, .nyc1)] {
            let ping = try await lab.run(
                in: lab.hostNamespace(from), ["ping", "-n", "-c", "10", "-i", "0.05", "-W", "1", to.hostAddress],
                check: false)
            #expect(ping.standardOutput.contains(" 0% packet loss"), "host-\(from) → host-\(to): \(ping)")
        }
        let byteCount = 4 << 20
        for (sender, receiver) in [(LabRegion.nyc1, LabRegion.fsn1), (.fsn1, .nyc1)] {
            let sink = try lab.startHelper(
                in: lab.hostNamespace(receiver),
                [LabEnvironment.python, "-u", "-c", LabScripts.tcpSink, receiver.hostAddress, "5201"])
            #expect(await sink.waitForOutput(containing: "listening", timeout: .seconds(10)), "\(sink.result)")
            let source = try await lab.run(
                in: lab.hostNamespace(sender),
                [
                    LabEnvironment.python, "-u", "-c", LabScripts.tcpSource, receiver.hostAddress, "5201",
                    "\(byteCount)", sender == .nyc1 ? "7" : "8",
                ], timeout: .seconds(60))
            #expect(await sink.waitForExit(timeout: .seconds(10)) == .exited(0), "\(sink.result)")
            let sent = source.standardOutput.trimmed.split(separator: " ")
            let received = sink.standardOutput.trimmed.split(separator: "\n").last?.split(separator: " ") ?? []
            #expect(sent.count == 2 && sent.first == "\(byteCount)", "\(source)")
            #expect(received.count == 2 && received.first == "\(byteCount)", "\(sink.result)")
            #expect(sent.last == received.last, "sha256 host-\(sender) sent vs host-\(receiver) received")
            Self.report("TCP \(byteCount >> 20) MiB host-\(sender) → host-\(receiver): sha256 \(received.last ?? "?")")
        }
    }

    // MARK: - (b, c, e) what the daemons program

    @Test("every gateway routes the other region's subnet and the peers' overlay /32s via the overlay, protocol 88")
    func kernelRoutes() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        for gateway in LabGateway.allCases {
            let overlay = lab.interfaceName(gateway)
            let ours = try await lab.meshgateRoutes(gateway)
            let expected =
                Set([gateway.region.other.subnet] + LabGateway.allCases.filter { $0 != gateway }.map(\.overlayAddress))
            #expect(Set(ours.map(\.dst)) == expected, "\(gateway) proto 88 routes: \(ours)")
            #expect(ours.count == Set(ours.map(\.dst)).count, "\(gateway) has duplicate routes: \(ours)")
            for route in ours {
                #expect(route.dev == overlay && route.gateway == nil, "\(gateway): \(route)")
                #expect(route.isMeshgate, "\(gateway): \(route)")
            }
            // `ip route show proto 88` finds the same routes (it does not print the protocol it filtered on).
            let filtered = try await lab.run(
                in: lab.namespace(gateway), ["ip", "-j", "-4", "route", "show", "proto", "88"]
            ).standardOutput
            let filteredRoutes = try JSONDecoder().decode([KernelRoute].self, from: Data(filtered.utf8))
            #expect(Set(filteredRoutes.map(\.dst)) == expected, "\(gateway): \(filtered)")
            let all = try await lab.kernelRoutes(gateway)
            let remote = all.filter { $0.dst == gateway.region.other.subnet }
            #expect(remote.count == 1, "\(gateway): \(all)")
            #expect(!all.contains { $0.dst == gateway.region.subnet && $0.dev == overlay }, "\(gateway): \(all)")
            // No IPv6 routes of ours: the lab advertises none.
            #expect(try await lab.meshgateRoutes(gateway, family: "-6").isEmpty)
        }
    }

    private struct Link: Decodable {
        let ifname: String
        let mtu: Int
    }

    @Test("the overlay interface has MTU 1280 on every gateway")
    func overlayMTU() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        for gateway in LabGateway.allCases {
            let output = try await lab.run(
                in: lab.namespace(gateway), ["ip", "-j", "link", "show", lab.interfaceName(gateway)]
            ).standardOutput
            let links = try JSONDecoder().decode([Link].self, from: Data(output.utf8))
            #expect(links.map(\.mtu) == [1280], "\(gateway): \(output)")
            #expect(try await lab.status(gateway).mtu == 1280)
        }
    }

    @Test("IPv4 and IPv6 forwarding are on in every gateway")
    func forwarding() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        for gateway in LabGateway.allCases {
            for key in ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"] {
                let value = try await lab.run(in: lab.namespace(gateway), ["sysctl", "-n", key]).standardOutput
                #expect(value.trimmed == "1", "\(gateway) \(key) = \(value.trimmed)")
            }
            let status = try await lab.status(gateway)
            #expect(status.forwarding["ipv4"] == true && status.forwarding["ipv6"] == true, "\(status.forwarding)")
        }
    }

    // MARK: - (d) MSS clamping

    /// One captured SYN or SYN-ACK.
    private struct CapturedSYN: CustomStringConvertible {
        let source: String
        let isAck: Bool
        let mss: Int?
        var description: String { "\(isAck ? "SYN-ACK" : "SYN") from \(source) MSS \(mss.map(String.init) ?? "none")" }
    }

    /// Starts tshark in `namespace` on `eth0` for `count` SYN / SYN-ACK packets of TCP port `port`.
    private func startCapture(_ lab: GatewayLab, in namespace: String, port: Int, count: Int) async throws
        -> ChildProcess
    {
        let capture = try lab.startHelper(
            in: namespace,
            [
                "tshark", "-n", "-l", "-i", "eth0", "-c", "\(count)", "-a", "duration:20",
                "-f", "tcp port \(port) and tcp[tcpflags] & tcp-syn != 0",
                "-T", "fields", "-E", "separator=,", "-e", "ip.src", "-e", "tcp.flags.ack", "-e", "tcp.options.mss_val",
            ])
        let deadline = ContinuousClock.now + .seconds(20)
        while !capture.standardError.contains("Capturing on") {
            guard capture.isRunning, ContinuousClock.now < deadline else {
                throw GatewayLabError.unexpectedOutput(command: "tshark", output: capture.result.description)
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return capture
    }

    private func capturedSYNs(_ capture: ChildProcess) async -> [CapturedSYN] {
        await capture.waitForExit(timeout: .seconds(20))
        return capture.standardOutput.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 3 else { return nil }
            return CapturedSYN(
                source: fields[0], isAck: fields[1] == "1" || fields[1] == "True", mss: Int(fields[2]))
        }
    }

    @Test("a TCP SYN crossing the mesh arrives with MSS <= 1240, and so does the SYN-ACK coming back")
    func mssClamp() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        let port = 5301
        let far = try await startCapture(lab, in: lab.hostNamespace(.fsn1), port: port, count: 1)
        let near = try await startCapture(lab, in: lab.hostNamespace(.nyc1), port: port, count: 2)
        let sink = try lab.startHelper(
            in: lab.hostNamespace(.fsn1),
            [LabEnvironment.python, "-u", "-c", LabScripts.tcpSink, LabRegion.fsn1.hostAddress, "\(port)"])
        #expect(await sink.waitForOutput(containing: "listening", timeout: .seconds(10)))
        try await lab.run(
            in: lab.hostNamespace(.nyc1),
            [
                LabEnvironment.python, "-u", "-c", LabScripts.tcpSource, LabRegion.fsn1.hostAddress, "\(port)", "1000",
                "1",
            ],
            timeout: .seconds(20))
        let arrived = await capturedSYNs(far)
        let seenByClient = await capturedSYNs(near)
        Self.report("SYN at host-fsn1: \(arrived); at host-nyc1: \(seenByClient)")

        let syn = try #require(arrived.first { !$0.isAck }, "no SYN captured at host-fsn1: \(far.result)")
        #expect(syn.source == LabRegion.nyc1.hostAddress)
        #expect(try #require(syn.mss) <= 1240, "SYN at the far LAN host: \(syn)")
        // The client really offered the default (eth0 MTU 1500): the clamp, not the host, lowered it.
        let sent = try #require(seenByClient.first { !$0.isAck }, "no SYN captured at host-nyc1: \(near.result)")
        #expect(sent.mss == 1460, "SYN leaving host-nyc1: \(sent)")
        let synAck = try #require(seenByClient.first { $0.isAck }, "no SYN-ACK captured at host-nyc1: \(near.result)")
        #expect(try #require(synAck.mss) <= 1240, "SYN-ACK back at host-nyc1: \(synAck)")
    }

    // MARK: - (f) failures of the nyc1 primary

    /// Checks that nothing is duplicated or stale after a failure: one VIP holder per region (by `ip -j
    /// addr` on both members), the expected routes of protocol 88 exactly once on every gateway.
    private func expectNoStaleState(_ lab: GatewayLab, _ context: String) async throws {
        for region in LabRegion.allCases {
            let holders = try await lab.virtualIPHolders(region)
            #expect(holders.count == 1, "\(context): VIP \(region.virtualIP) held by \(holders)")
        }
        for gateway in LabGateway.allCases {
            let ours = try await lab.meshgateRoutes(gateway)
            let destinations = ours.map(\.dst)
            let expected =
                Set([gateway.region.other.subnet] + LabGateway.allCases.filter { $0 != gateway }.map(\.overlayAddress))
            #expect(destinations.count == Set(destinations).count, "\(context): \(gateway) duplicate routes \(ours)")
            #expect(Set(destinations) == expected, "\(context): \(gateway) routes \(ours)")
        }
    }

    @Test("SIGKILL of the nyc1 primary: outage < 1 s; restarted, it comes back as standby with nothing stale")
    func sigkillOfPrimary() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let victim = try #require(primaries[.nyc1])
        let survivor = victim.partner
        let clock = ContinuousClock()
        var killedAt = clock.now
        let outage = try await lab.measureOutage {
            killedAt = clock.now
            try await lab.kill(victim)
        }
        Self.report("SIGKILL of \(victim) (primary): \(outage)")
        #expect(outage.longestGapMilliseconds < Self.unplannedBound, "\(outage)")

        let status = try await lab.status(survivor)
        #expect(status.isPrimary, "\(survivor) after \(victim) was killed: \(String(describing: status.group))")
        // The dead daemon's VIP stays in the kernel until its 2 s lifetime runs out.
        var stale = try await lab.addresses(in: lab.namespace(victim), interface: "lan")
        while stale.contains("10.10.10.1/24"), clock.now - killedAt < .seconds(3) {
            try await Task.sleep(for: .milliseconds(100))
            stale = try await lab.addresses(in: lab.namespace(victim), interface: "lan")
        }
        #expect(!stale.contains("10.10.10.1/24"), "the killed \(victim) still holds the VIP 3 s later: \(stale)")

        try await lab.start(victim)
        let after = try await lab.waitSettled()
        #expect(after[.nyc1] == survivor, "non-preemptive: \(survivor) keeps the role")
        #expect(try await lab.status(victim).group?.role == "standby")
        try await expectNoStaleState(lab, "after \(victim) restarted")
    }

    @Test("wan link cut of the nyc1 primary: outage < 1 s; restored, the group heals to one primary")
    func wanCutOfPrimary() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let victim = try #require(primaries[.nyc1])
        let outage = try await lab.measureOutage { try await lab.cutLink(victim, "wan") }
        Self.report("wan cut of \(victim) (primary): \(outage)")
        #expect(outage.longestGapMilliseconds < Self.unplannedBound, "\(outage)")
        let during = await lab.snapshot()
        Self.report("during the wan cut:\n\(during)")
        #expect(during.statuses[victim.partner]?.isPrimary == true, "\(victim.partner) took over")
        for remote in LabRegion.fsn1.members {
            #expect(during.primary(of: .nyc1, seenBy: remote) == victim.partner.name, "\(remote)")
        }

        try await lab.restoreLink(victim, "wan")
        let after = try await lab.waitSettled()
        Self.report("after restoring the wan of \(victim): nyc1 primary \(after[.nyc1]?.name ?? "none")")
        try await expectNoStaleState(lab, "after the wan of \(victim) came back")
    }

    @Test("LAN-side cut of the nyc1 primary: it gives up the role, the standby takes over, outage < 1 s")
    func lanCutOfPrimary() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let victim = try #require(primaries[.nyc1])
        let outage = try await lab.measureOutage { try await lab.cutLink(victim, "lan") }
        Self.report("lan cut of \(victim) (primary): \(outage)")
        if outage.longestGapMilliseconds >= Self.unplannedBound {
            for gateway in LabGateway.allCases {
                let changes = lab.auditLog(gateway).events.filter { $0.event == "path_changed" }.suffix(4)
                Self.report("\(gateway) path changes: \(changes.map(\.line).joined(separator: "\n"))")
            }
        }
        #expect(outage.longestGapMilliseconds < Self.unplannedBound, "\(outage)")
        let during = await lab.snapshot()
        #expect(during.statuses[victim]?.group?.role == "standby", "\(victim) without LAN:\n\(during)")
        #expect(during.statuses[victim]?.group?.lanHealthy == false, "\(victim) must see its LAN down")
        #expect(during.statuses[victim.partner]?.isPrimary == true, "\(during)")
        #expect(during.virtualIPHolders[.nyc1] == [victim.partner], "\(during)")
        for remote in LabRegion.fsn1.members {
            #expect(during.primary(of: .nyc1, seenBy: remote) == victim.partner.name, "\(remote)")
        }

        try await lab.restoreLink(victim, "lan")
        let after = try await lab.waitSettled()
        #expect(after[.nyc1] == victim.partner, "non-preemptive: the LAN coming back does not move the role")
        try await expectNoStaleState(lab, "after the LAN of \(victim) came back")
    }

    @Test(
        "a WAN partition between the nyc1 pair: their hellos still cross the LAN, so one primary and one VIP holder throughout; after healing all agree"
    )
    func partitionOfThePair() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let primary = try #require(primaries[.nyc1])
        let outage = try await lab.measureOutage(window: .seconds(2)) {
            try await lab.partition(primary, primary.partner)
        }
        Self.report("partition \(primary) | \(primary.partner): \(outage)")
        #expect(outage.longestGapMilliseconds < Self.unplannedBound, "\(outage)")
        let during = await lab.snapshot()
        Self.report("during the partition:\n\(during)")
        // Before the LAN hellos both members claimed the role and both held the VIP for the whole partition.
        let claimants = LabRegion.nyc1.members.filter { during.statuses[$0]?.isPrimary == true }
        #expect(claimants == [primary], "a second primary during the partition: \(during)")
        #expect(during.virtualIPHolders[.nyc1] == [primary], "\(during)")
        let remoteViews = LabRegion.fsn1.members.map { during.primary(of: .nyc1, seenBy: $0) }
        #expect(remoteViews == [primary.name, primary.name], "\(remoteViews)")

        let healing = try await lab.measureOutage(window: .seconds(2)) { try await lab.heal() }
        Self.report("heal: \(healing)")
        #expect(healing.longestGapMilliseconds < Self.unplannedBound, "\(healing)")
        let after = try await lab.waitSettled(timeout: .seconds(10))
        let snapshot = await lab.snapshot()
        for region in LabRegion.allCases {
            let views = LabGateway.allCases.map { snapshot.primary(of: region, seenBy: $0) }
            #expect(Set(views).count == 1 && views[0] == after[region]?.name, "\(region): \(views)")
            let claimants = region.members.filter { snapshot.statuses[$0]?.isPrimary == true }
            #expect(claimants.count == 1, "\(region) claimants after healing: \(claimants)")
        }
        Self.report("after healing: nyc1 primary \(after[.nyc1]?.name ?? "none")")
        try await expectNoStaleState(lab, "after healing the partition")
    }

    @Test("a clean restart of the nyc1 standby leaves nothing stale and causes no outage")
    func cleanRestartOfStandby() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let primary = try #require(primaries[.nyc1])
        let standby = primary.partner
        var whileStopped: (routes: [KernelRoute], lan: [String], tables: [String]) = ([], [], [])
        let outage = try await lab.measureOutage(window: .seconds(1)) {
            try await lab.stop(standby)
            whileStopped = (
                try await lab.meshgateRoutes(standby),
                try await lab.addresses(in: lab.namespace(standby), interface: "lan"),
                try await lab.nftablesTables(standby)
            )
            try await lab.start(standby)
        }
        Self.report("clean restart of \(standby) (standby): \(outage), restart took \(outage.faultDuration) s")
        #expect(outage.longestGapMilliseconds < Self.noOutageBound, "\(outage)")
        #expect(whileStopped.routes.isEmpty, "routes left by the stopped \(standby): \(whileStopped.routes)")
        #expect(!whileStopped.lan.contains("10.10.10.1/24"), "\(whileStopped.lan)")
        #expect(!whileStopped.tables.contains("table inet meshgate"), "\(whileStopped.tables)")
        #expect(!whileStopped.tables.contains("table arp meshgate"), "\(whileStopped.tables)")

        let after = try await lab.waitSettled()
        #expect(after[.nyc1] == primary, "the restart of the standby must not move the role")
        #expect(try await lab.status(standby).group?.role == "standby")
        try await expectNoStaleState(lab, "after restarting \(standby)")
    }

    /// A gateway that has just started knows no remote subnet until it hears an advertisement. If it only
    /// hears the periodic ones (every 5 s), a failover onto it during that window black-holes the traffic:
    /// it has no route back, and WireGuard drops what arrives because the allowed IPs lack the subnet.
    @Test("a restarted gateway learns the other region's subnet within 1 s, so it can take over at once")
    func restartedGatewayLearnsRoutesPromptly() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let standby = try #require(primaries[.nyc1]).partner
        try await lab.stop(standby)
        let clock = ContinuousClock()
        try await lab.start(standby)
        let started = clock.now
        var learned: Duration?
        while clock.now - started < .seconds(8) {
            if let routes = try? await lab.routes(standby),
                routes.contains(where: { $0.subnet == LabRegion.fsn1.subnet && $0.installed })
            {
                learned = clock.now - started
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Self.report(
            "\(standby) restarted; learned \(LabRegion.fsn1.subnet) after \(learned.map { "\($0)" } ?? "> 8 s")")
        let delay = try #require(learned, "\(standby) never learned \(LabRegion.fsn1.subnet)")
        #expect(
            delay < .seconds(1),
            "\(standby) learned \(LabRegion.fsn1.subnet) only \(delay) after starting (the peers' periodic advertisement)"
        )
        try await lab.waitSettled()
    }

    @Test("planned drill: meshgate drill failover hands nyc1 over and back losing <= 100 ms")
    func plannedDrill() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let primary = try #require(primaries[.nyc1])
        var figures: DrillFigures?
        var drillError: String?
        let outage = try await lab.measureOutage(window: .milliseconds(500)) {
            (figures, drillError) = try await lab.drillFailover(on: primary, group: "nyc1")
        }
        Self.report("drill failover of nyc1 from \(primary): \(figures.map { "\($0)" } ?? "no report")")
        Self.report("drill failover, LAN-to-LAN (over and back): \(outage)")
        #expect(drillError == nil, "\(drillError ?? "")")
        let drill = try #require(figures)
        #expect(drill.fromPrimary == primary.name && drill.toPrimary == primary.partner.name, "\(drill)")
        #expect(drill.restored, "\(drill)")
        // Probes go every 5 ms: 100 ms of loss is 20 probes.
        #expect(drill.probesLost <= 20, "\(drill)")
        // Convergence is one hello plus one overlay round trip (a few ms) plus the drill's 2 ms polling;
        // 250 ms leaves room for a debug build on two busy cores.
        #expect((drill.convergenceMilliseconds ?? .infinity) < 250, "\(drill)")
        #expect(outage.longestGapMilliseconds < Self.plannedBound, "\(outage)")
        let after = try await lab.waitSettled()
        #expect(after[.nyc1] == primary, "the drill restores the original primary")
    }

    // MARK: - (g) clean stop

    @Test("SIGTERM of the nyc1 primary removes its routes, VIP and nftables table; fsn1 switches to the partner")
    func sigtermRemovesKernelState() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let victim = try #require(primaries[.nyc1])
        let partner = victim.partner
        let outage = try await lab.measureOutage(window: .seconds(2)) { try await lab.stop(victim) }
        Self.report("SIGTERM of \(victim) (primary): \(outage), stop took \(outage.faultDuration) s")
        #expect(outage.longestGapMilliseconds < Self.unplannedBound, "\(outage)")

        #expect(try await lab.meshgateRoutes(victim).isEmpty)
        #expect(try await lab.meshgateRoutes(victim, family: "-6").isEmpty)
        let lan = try await lab.addresses(in: lab.namespace(victim), interface: "lan")
        #expect(!lan.contains("10.10.10.1/24"), "VIP left on \(victim): \(lan)")
        let tables = try await lab.nftablesTables(victim)
        #expect(!tables.contains("table inet meshgate"), "\(victim) tables: \(tables)")
        #expect(!tables.contains("table arp meshgate"), "\(victim) tables: \(tables)")
        let overlayLeft = try await lab.linkExists(victim, lab.interfaceName(victim))
        #expect(!overlayLeft, "overlay interface \(lab.interfaceName(victim)) left behind")
        #expect(
            !FileManager.default.fileExists(atPath: "\(NetnsLab.socketDirectory)/\(lab.interfaceName(victim)).sock"))
        #expect(!FileManager.default.fileExists(atPath: lab.controlSocket(victim)), "control socket left behind")

        let partnerKey = try await lab.status(partner).publicKey
        for remote in LabRegion.fsn1.members {
            let via = try await lab.routes(remote).first { $0.subnet == LabRegion.nyc1.subnet }?.via
            #expect(via == partner.name, "\(remote) routes \(LabRegion.nyc1.subnet) via \(via ?? "nothing")")
            let allowed = try await lab.run(
                in: lab.namespace(remote), ["wg", "show", lab.interfaceName(remote), "allowed-ips"]
            ).standardOutput
            let line = allowed.split(separator: "\n").first { $0.hasPrefix(partnerKey) } ?? ""
            #expect(line.contains(LabRegion.nyc1.subnet), "\(remote) allowed IPs:\n\(allowed)")
        }
        #expect(try await lab.virtualIPHolders(.nyc1) == [partner])

        try await lab.start(victim)
        let after = try await lab.waitSettled()
        #expect(after[.nyc1] == partner)
        try await expectNoStaleState(lab, "after \(victim) started again")
    }

    // MARK: - (h) bad configs

    enum BadConfig: String, CaseIterable, Sendable, CustomStringConvertible {
        case unknownKey
        case nonCanonicalPrefix
        case publicSubnet
        case worldReadableKey

        var description: String { rawValue }

        /// What the error message must name.
        var expectedKey: String {
            switch self {
            case .unknownKey: "overlay.bogus_option"
            case .nonCanonicalPrefix, .publicSubnet: "advertise"
            case .worldReadableKey: "private_key_file"
            }
        }

        func apply(to config: String) -> String {
            switch self {
            case .unknownKey:
                config.replacingOccurrences(of: "  mtu: 1280\n", with: "  mtu: 1280\n  bogus_option: true\n")
            case .nonCanonicalPrefix:
                config.replacingOccurrences(of: LabRegion.nyc1.advertiseLine, with: "advertise: [10.10.10.1/24]")
            case .publicSubnet:
                config.replacingOccurrences(of: LabRegion.nyc1.advertiseLine, with: "advertise: [8.8.8.0/24]")
            case .worldReadableKey: config
            }
        }
    }

    /// Everything meshgated could touch in a namespace, as text.
    private func systemState(_ lab: GatewayLab, _ namespace: String, _ paths: [String]) async throws -> String {
        var parts: [String] = []
        for command in [
            ["ip", "-j", "link"], ["ip", "-j", "addr"], ["ip", "-j", "-4", "route", "show", "table", "all"],
            ["ip", "-j", "-6", "route", "show", "table", "all"], ["nft", "list", "ruleset"],
            ["sysctl", "-n", "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"],
        ] {
            parts.append(try await lab.run(in: namespace, command).standardOutput)
        }
        for path in paths { parts.append("\(path) exists: \(FileManager.default.fileExists(atPath: path))") }
        return parts.joined(separator: "\n---\n")
    }

    @Test("meshgated refuses a bad config, naming the key, and changes nothing", arguments: BadConfig.allCases)
    func badConfigRejected(_ bad: BadConfig) async throws {
        let lab = try self.lab
        let namespace = "\(lab.prefix)-badcfg"
        let directory = "\(lab.scratchDirectory)/\(bad)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let overlay = "mg\(lab.prefix.suffix(3))bad"
        let keyFile = "\(directory)/private.key"
        let controlSocket = "\(directory)/control.sock"
        try FileManager.default.copyItem(atPath: "\(lab.directory(.nyc1a))/private.key", toPath: keyFile)
        chmod(keyFile, bad == .worldReadableKey ? 0o644 : 0o600)
        var config = try String(contentsOfFile: lab.configFile(.nyc1a), encoding: .utf8)
        config = config.replacingOccurrences(
            of: "interface: \(lab.interfaceName(.nyc1a))", with: "interface: \(overlay)")
        config = config.replacingOccurrences(of: lab.controlSocket(.nyc1a), with: controlSocket)
        config = config.replacingOccurrences(of: "\(lab.directory(.nyc1a))/private.key", with: keyFile)
        let configFile = "\(directory)/config.yaml"
        try bad.apply(to: config).write(toFile: configFile, atomically: true, encoding: .utf8)
        #expect(bad == .worldReadableKey || bad.apply(to: config) != config, "the mutation must change the config")

        try await Command.run(["ip", "netns", "add", namespace])
        do {
            let watched = [controlSocket, "\(NetnsLab.socketDirectory)/\(overlay).sock"]
            let before = try await systemState(lab, namespace, watched)
            let result = try await lab.run(
                in: namespace, [lab.meshgated, "--config", configFile], timeout: .seconds(15), check: false)
            let after = try await systemState(lab, namespace, watched)
            Self.report("bad config \(bad): \(result.status): \(result.standardError.trimmed)")
            #expect(result.status != .exited(0) && result.status != .signaled(SIGKILL), "\(result)")
            #expect(result.standardError.contains(bad.expectedKey), "stderr must name \(bad.expectedKey): \(result)")
            #expect(before == after, "meshgated changed the system although it refused the config")
        } catch {
            _ = try? await Command.run(["ip", "netns", "delete", namespace], check: false)
            throw error
        }
        try await Command.run(["ip", "netns", "delete", namespace])
    }
}
