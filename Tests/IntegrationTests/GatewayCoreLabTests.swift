// Defects of the gateway core (issue 7), each checked the way it was found: meshgated touches only the
// kernel state it owns (routes of protocol 88, in whatever table the configuration names; read back with
// `ip route`), and a key rotation that cannot persist its key changes nothing.
//
// Run: swift build --product meshgated && swift build --product meshgate &&
//      swift test --filter GatewayCoreLabTests

import Foundation
import MeshgateTestSupport
import Testing

@Suite(
    "gateway core defects in the two-region lab", .serialized, .tags(.privileged), .requiresLab("nft", "tshark"),
    .gatewayLab)
struct GatewayCoreLabTests {
    var lab: GatewayLab {
        get throws { try #require(GatewayLabScope.current, "the suite's gateway lab is not up") }
    }

    /// `ip route show` lines of every protocol but meshgate's, sorted: what meshgated must never change.
    func foreignRoutes(_ lab: GatewayLab, _ gateway: LabGateway) async throws -> [String] {
        try await lab.kernelRoutes(gateway).filter { !$0.isMeshgate }.map(\.description).sorted()
    }

    @Test("drill withdraw on a standby leaves its connected LAN route as it was, also after a restart")
    func withdrawDrillOnStandby() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let standby = try #require(primaries[.nyc1]).partner
        let before = try await foreignRoutes(lab, standby)
        #expect(before.contains { $0.hasPrefix("10.10.10.0/24") && $0.contains("proto kernel") }, "\(before)")

        let drill = try await lab.meshgateCommand(
            standby, ["drill", "withdraw", "--subnet", LabRegion.nyc1.subnet, "--json"], timeout: .seconds(30))
        print("[kernel ownership] drill withdraw on \(standby): \(drill.standardOutput.trimmed)")
        let after = try await foreignRoutes(lab, standby)
        #expect(after == before, "drill withdraw changed \(standby)'s own routes:\nbefore \(before)\nafter \(after)")
        let ours = try await lab.meshgateRoutes(standby).map(\.dst)
        #expect(!ours.contains(LabRegion.nyc1.subnet), "\(standby) routes its own LAN through the overlay: \(ours)")

        try await lab.stop(standby)
        try await lab.start(standby)
        _ = try await lab.waitSettled()
        let restarted = try await foreignRoutes(lab, standby)
        #expect(restarted == before, "after a restart of \(standby):\nbefore \(before)\nafter \(restarted)")
    }

    @Test("a reload of kernel.route_table moves our routes there, and back; foreign routes stay")
    func routeTableReloadMovesRoutes() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        let gateway = LabGateway.fsn1a
        let original = try lab.readConfig(gateway)
        let foreign = try await foreignRoutes(lab, gateway)
        let mainBefore = try await lab.meshgateRoutes(gateway).map(\.dst).sorted()
        #expect(mainBefore.contains(LabRegion.nyc1.subnet), "\(mainBefore)")
        defer { try? lab.writeConfig(gateway, original) }

        try lab.writeConfig(gateway, original + "kernel:\n  route_table: 100\n  route_metric: 20\n")
        let reload = try await lab.reloadConfig(gateway)
        #expect(reload.succeeded, "\(reload)")
        #expect(reload.standardOutput.contains("kernel.route_table"), "\(reload)")
        let inMain = try await lab.meshgateRoutes(gateway)
        #expect(inMain.isEmpty, "our routes stayed in main: \(inMain)")
        let table100 = try await lab.run(in: lab.namespace(gateway), ["ip", "route", "show", "table", "100"])
            .standardOutput
        for subnet in mainBefore {
            #expect(table100.contains("\(subnet) dev") && table100.contains("metric 20"), "table 100: \(table100)")
        }
        #expect(try await foreignRoutes(lab, gateway) == foreign)

        try lab.writeConfig(gateway, original)
        #expect(try await lab.reloadConfig(gateway).succeeded)
        #expect(try await lab.meshgateRoutes(gateway).map(\.dst).sorted() == mainBefore)
        let emptied = try await lab.run(in: lab.namespace(gateway), ["ip", "route", "show", "table", "100"])
        #expect(emptied.standardOutput.trimmed.isEmpty, "left in table 100: \(emptied.standardOutput)")
        #expect(try await foreignRoutes(lab, gateway) == foreign)
    }

    @Test("rotate-key with a read-only key directory fails and changes nothing: peers keep the old key")
    func rotateKeyUnwritable() async throws {
        let lab = try self.lab
        try await lab.restoreBaseline()
        let gateway = LabGateway.nyc1a
        let directory = lab.directory(gateway)
        let keyFile = "\(directory)/private.key"
        let oldPrivate = try String(contentsOfFile: keyFile, encoding: .utf8)
        let oldPublic = try await lab.status(gateway).publicKey
        // As under ProtectSystem=strict without the key directory writable: a read-only bind mount, made in
        // the daemon's own mount namespace (`ip netns exec` gives it one).
        let pid = try String(contentsOfFile: "\(directory)/pid", encoding: .utf8).trimmed
        let inDaemon = ["nsenter", "-t", pid, "-m", "--"]
        try await Command.run(
            inDaemon + ["sh", "-c", "mount --bind \"$0\" \"$0\" && mount -o remount,ro,bind \"$0\"", directory])
        defer { _ = Command.runBlocking(inDaemon + ["umount", directory]) }

        let rotation = try await lab.meshgateCommand(gateway, ["rotate-key"])
        try await Command.run(inDaemon + ["umount", directory])
        #expect(!rotation.succeeded, "\(rotation)")
        #expect(rotation.standardError.contains("nothing changed"), "\(rotation)")
        #expect(try String(contentsOfFile: keyFile, encoding: .utf8) == oldPrivate)
        #expect(try await lab.status(gateway).publicKey == oldPublic)
        for peer in LabGateway.allCases where peer != gateway {
            let keys = try await lab.wireGuardPeers(peer)
            #expect(keys.contains(oldPublic), "\(peer) no longer knows \(gateway)'s key: \(keys)")
        }
        // Traffic through the gateway still works after the refused rotation.
        _ = try await lab.waitSettled()
    }

    @Test(
        "20% loss between the nyc1 pair for 30 s does not move the role (it did 18 times) once the loss is known; a kill afterwards still does"
    )
    func noFlapUnderLoss() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let primary = try #require(primaries[.nyc1])
        let roleChanges = {
            [LabGateway.nyc1a, .nyc1b].flatMap { lab.auditLog($0).events }
                .filter { $0.event == "primary_changed" && $0["group"] != nil }.count
        }
        try await lab.loss(.nyc1a, .nyc1b, percent: 20)
        // The onset of loss looks like a death until a few hellos went missing (the detector has no
        // evidence yet): the first 2 s are reported, not counted.
        try await Task.sleep(for: .seconds(2))
        let before = roleChanges()
        try await Task.sleep(for: .seconds(30))
        let flaps = roleChanges() - before
        print("[loss] role changes in nyc1 over 30 s of 20% loss between the pair: \(flaps)")
        for event in [LabGateway.nyc1a, .nyc1b].flatMap({ lab.auditLog($0).events })
        where event.event == "primary_changed" && event["group"] != nil {
            print("[loss]   \(event.timestamp) \(event.node) → \(event["role"] ?? "") \(event["reason"] ?? "")")
        }
        let holder = try await lab.status(primary.partner).group?.primary
        let current = try #require(LabGateway.allCases.first { $0.name == holder })
        try await lab.kill(current)
        try await Task.sleep(for: .milliseconds(1500))
        let after = try await lab.status(current.partner).group?.primary
        try await lab.heal()
        try await lab.start(current)
        #expect(flaps == 0, "the role moved \(flaps) times under 20% loss")
        #expect(after == current.partner.name, "the partner did not take over within 1.5 s of a kill under loss")
    }

    /// scripts/arp-probe.py: who answers ARP for the VIP, and when (shared with fault-matrix.sh).
    static var arpProbe: String { "\(LabEnvironment.packageRoot)/scripts/arp-probe.py" }

    @Test(
        "a frozen primary (SIGSTOP 3 s) stops answering ARP for the VIP before its partner takes over: no two holders (it overlapped 1.4 s)"
    )
    func frozenPrimaryReleasesVirtualIP() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let primary = try #require(primaries[.nyc1])
        let standby = primary.partner
        func mac(_ gateway: LabGateway) async throws -> String {
            let text = try await lab.run(in: lab.namespace(gateway), ["ip", "-br", "link", "show", "lan"])
                .standardOutput
            return String(text.split(separator: " ", omittingEmptySubsequences: true)[2]).replacingOccurrences(
                of: ":", with: "")
        }
        let (frozenMAC, partnerMAC) = (try await mac(primary), try await mac(standby))
        let probe = try lab.startHelper(
            in: lab.hostNamespace(.nyc1),
            [
                LabEnvironment.python, Self.arpProbe, "eth0", LabRegion.nyc1.virtualIP,
                LabRegion.nyc1.hostAddress, "7",
            ])
        _ = await probe.waitForOutput(containing: "ready", timeout: .seconds(5))
        try await Task.sleep(for: .seconds(1))
        let pid = try #require(
            Int32(try String(contentsOfFile: "\(lab.directory(primary))/pid", encoding: .utf8).trimmed))
        let clock = ContinuousClock()
        let frozenAt = clock.now
        kill(pid, SIGSTOP)
        try await Task.sleep(for: .seconds(3))
        kill(pid, SIGCONT)
        let frozenFor = clock.now - frozenAt
        await probe.waitForExit(timeout: .seconds(10))

        // Replies per 50 ms slot: a slot with answers from both MACs is time with two holders.
        var slots: [Int: Set<String>] = [:]
        var firstFromPartner: Double?
        var lastFromFrozen = 0.0
        for line in probe.standardOutput.split(separator: "\n") where line != "ready" {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let t = Double(fields[0]) else { continue }
            let sender = String(fields[1])
            slots[Int(t * 20), default: []].insert(sender)
            if sender == partnerMAC, firstFromPartner == nil { firstFromPartner = t }
            if sender == frozenMAC { lastFromFrozen = t }
        }
        let doubled = slots.values.filter { $0.contains(frozenMAC) && $0.contains(partnerMAC) }.count * 50
        print(
            "[freeze] \(primary) frozen for \(frozenFor): last ARP answer from it at \(lastFromFrozen) s, first from \(standby) at \(firstFromPartner ?? -1) s, \(doubled) ms with both"
        )
        #expect(firstFromPartner != nil, "\(standby) never answered for the VIP:\n\(probe.standardOutput)")
        #expect(doubled <= 100, "both answered ARP for the VIP during \(doubled) ms")
        if let firstFromPartner {
            #expect(lastFromFrozen < firstFromPartner + 0.1, "the frozen primary answered after the takeover")
        }
        let after = try await lab.waitSettled()
        #expect(after[.nyc1] == standby, "the thawed primary must not take the role back")
        #expect(try await lab.virtualIPHolders(.nyc1) == [standby])
    }

    @Test("meshgated runs with a core size limit of zero, soft and hard, so no dump can carry its key")
    func noCoreDumps() async throws {
        let lab = try self.lab
        // Every daemon up and past start-up (a restart's pid file is written before its exec).
        _ = try await lab.restoreBaseline()
        for gateway in LabGateway.allCases {
            let pid = try #require(
                Int32(try String(contentsOfFile: "\(lab.directory(gateway))/pid", encoding: .utf8).trimmed))
            let text = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("Max core file size") })
            let limits = line.dropFirst("Max core file size".count).split(separator: " ").prefix(2).map(String.init)
            #expect(limits == ["0", "0"], "\(gateway): \(line)")
        }
    }

    @Test("a takeover announces the virtual IP five times within half a second, as VRRP implementations do")
    func repeatedGratuitousARP() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let primary = try #require(primaries[.nyc1])
        let vip = LabRegion.nyc1.virtualIP
        let capture = try lab.startHelper(
            in: lab.hostNamespace(.nyc1),
            [
                "tshark", "-n", "-l", "-i", "eth0", "-f", "arp", "-a", "duration:4", "-T", "fields", "-e",
                "arp.src.proto_ipv4", "-e", "arp.dst.proto_ipv4",
            ])
        let clock = ContinuousClock()
        let listening = clock.now + .seconds(10)
        while !capture.standardError.contains("Capturing on"), clock.now < listening {
            try await Task.sleep(for: .milliseconds(50))
        }
        let drill = try await lab.meshgateCommand(primary, ["drill", "failover", "--group", "nyc1", "--no-restore"])
        #expect(drill.succeeded, "\(drill)")
        await capture.waitForExit(timeout: .seconds(10))
        let announcements = capture.standardOutput.split(separator: "\n").filter { $0 == "\(vip)\t\(vip)" }
        #expect(
            announcements.count >= 5, "gratuitous ARPs for \(vip): \(announcements.count)\n\(capture.standardOutput)")
    }

    @Test("the control socket serves status while a drill runs and while a client drips a byte every second")
    func controlSocketConcurrency() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let primary = try #require(primaries[.nyc1])
        // A slow client: one byte a second, never a newline, for 8 s.
        let drip = try lab.startHelper(
            in: lab.namespace(primary),
            [
                LabEnvironment.python, "-c",
                "import socket,sys,time\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n"
                    + "start=time.time()\ntry:\n  for _ in range(8):\n    s.send(b'{'); time.sleep(1)\n"
                    + "except OSError:\n  pass\nprint('cut off after %.1f s' % (time.time()-start), flush=True)",
                lab.controlSocket(primary),
            ])
        let drill = Task {
            try await lab.meshgateCommand(primary, ["drill", "failover", "--group", "nyc1", "--json"])
        }
        try await Task.sleep(for: .milliseconds(500))
        let clock = ContinuousClock()
        let started = clock.now
        let status = try await lab.meshgateCommand(primary, ["status", "--json"], timeout: .seconds(5))
        let waited = clock.now - started
        #expect(status.succeeded, "\(status)")
        #expect(waited < .seconds(2), "status waited \(waited) behind the drill and the slow client")
        let second = try await lab.meshgateCommand(primary, ["drill", "withdraw", "--subnet", LabRegion.nyc1.subnet])
        #expect(!second.succeeded && second.standardError.contains("another drill"), "\(second)")
        let first = try await drill.value
        #expect(first.succeeded, "\(first)")
        await drip.waitForExit(timeout: .seconds(15))
        // One deadline for the whole request (5 s), not 5 s per byte.
        #expect(drip.standardOutput.contains("cut off after"), "\(drip.result)")
        if let seconds = drip.standardOutput.split(separator: " ").dropFirst(3).first.flatMap({ Double($0) }) {
            #expect(seconds < 7, "the slow client was served for \(seconds) s")
        }
    }
}
