// Relays in the two-region namespace lab of scripts/gateway-lab.sh (issue 13): a partition between the two
// regions' primaries (UDP between their WAN addresses dropped in one of their namespaces) must keep
// LAN-to-LAN traffic flowing through a third gateway — one of the standbys, which still reach both — with
// an outage under 1 s, both directions through the same relay; a verified TCP transfer must survive the
// switch and the switch back; and after the partition heals traffic must return to the direct path.
//
// Run (one --product per build):
//   flock /tmp/meshgate-swift.lock swift build --product meshgated &&
//   flock /tmp/meshgate-swift.lock swift build --product meshgate &&
//   flock /tmp/meshgate-swift.lock swift test --disable-xctest --filter RelayLabTests

import Foundation
import MeshgateTestSupport
import Testing

@Suite(
    "relays in a two-region lab: a partition between the primaries goes through a standby",
    .serialized, .tags(.privileged), .requiresLab("nft", "curl"), .gatewayLab)
struct RelayLabTests {
    static let switchBound = 1000.0

    var lab: GatewayLab {
        get throws { try #require(GatewayLabScope.current, "the suite's gateway lab is not up") }
    }

    static func report(_ text: String) { print("[relay lab] \(text)") }

    /// The relay `gateway` uses towards `peer`, or nil for direct (`meshgate peers --json`).
    func via(_ lab: GatewayLab, _ gateway: LabGateway, toward peer: LabGateway) async throws -> String? {
        try await lab.peerStatuses(gateway).first { $0.name == peer.name }?.via
    }

    @Test("a partition between the primaries: traffic through one relay within 1 s, back to direct after healing")
    func partitionBetweenPrimaries() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let nyc = try #require(primaries[.nyc1])
        let fsn = try #require(primaries[.fsn1])
        #expect(try await via(lab, nyc, toward: fsn) == nil)

        let cut = try await lab.measureOutage(window: .seconds(3)) { try await lab.partition(nyc, fsn) }
        Self.report("partition \(nyc) | \(fsn): \(cut)")
        #expect(cut.longestGapMilliseconds < Self.switchBound, "\(cut)")
        let relayAtNyc = try await via(lab, nyc, toward: fsn)
        let relayAtFsn = try await via(lab, fsn, toward: nyc)
        Self.report("relays: \(nyc) -> \(relayAtNyc ?? "direct"), \(fsn) -> \(relayAtFsn ?? "direct")")
        #expect(relayAtNyc != nil, "\(nyc) still sends directly to \(fsn)")
        #expect(relayAtNyc == relayAtFsn, "both directions through the same relay")
        let peer = try await lab.peerStatuses(nyc).first { $0.name == fsn.name }
        #expect(peer?.directLink == false)
        #expect(peer?.relayedRTTMilliseconds != nil, "\(String(describing: peer))")

        // The relay counts what it passes on; the origin refuses transit towards what it relays itself.
        let relay = try #require(relayAtNyc.flatMap(LabGateway.init(name:)))
        let scrape = try await lab.scrapeMetrics(relay)
        #expect((scrape.value("meshgate_relay_transit_packets_total") ?? 0) > 0)
        let origin = try await lab.scrapeMetrics(nyc)
        #expect(origin.value("meshgate_peer_path", ["peer": fsn.name, "via": relay.name]) == 1)
        #expect((origin.value("meshgate_path_changes_total", ["peer": fsn.name]) ?? 0) >= 1)
        let table = try await lab.run(in: lab.namespace(nyc), ["nft", "list", "set", "inet", "meshgate", "relayed4"])
        #expect(table.standardOutput.contains(LabRegion.fsn1.subnet), "\(table.standardOutput)")
        let audit = lab.auditLog(nyc).events.filter { $0.event == "path_changed" }
        #expect(audit.contains { $0["to"] == "via \(relay.name)" }, "\(audit)")

        // Routes outlive route_expiry (15 s): the relay passes the far primary's adverts on.
        try await Task.sleep(for: .seconds(17))
        let routes = try await lab.meshgateRoutes(nyc)
        #expect(routes.contains { $0.dst == LabRegion.fsn1.subnet }, "\(routes)")
        let still = try await lab.measureOutage(window: .seconds(1)) {}
        #expect(still.longestGapMilliseconds < 150, "traffic through the relay after 17 s: \(still)")

        let healed = try await lab.measureOutage(window: .seconds(9)) { try await lab.heal() }
        Self.report("healed: \(healed)")
        #expect(healed.longestGapMilliseconds < Self.switchBound, "\(healed)")
        #expect(try await via(lab, nyc, toward: fsn) == nil, "back to direct after healing")
        #expect(try await via(lab, fsn, toward: nyc) == nil)
    }

    @Test("a verified TCP transfer survives the switch to the relay and back")
    func transferSurvivesSwitch() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let nyc = try #require(primaries[.nyc1])
        let fsn = try #require(primaries[.fsn1])
        let server = try lab.startHelper(
            in: lab.hostNamespace(.fsn1),
            [
                "python3", "-c",
                "import socket,hashlib\nl=socket.socket()\nl.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\nl.bind(('0.0.0.0',5400))\nl.listen(1)\nl.settimeout(40)\nc,_=l.accept()\nc.settimeout(30)\nh=hashlib.sha256()\nt=0\nwhile True:\n  b=c.recv(65536)\n  if not b: break\n  h.update(b)\n  t+=len(b)\nprint(t,h.hexdigest(),flush=True)\n",
            ])
        try await Task.sleep(for: .milliseconds(300))
        let client = try lab.startHelper(
            in: lab.hostNamespace(.nyc1),
            [
                "python3", "-c",
                "import socket,time,hashlib,random\nr=random.Random(13)\ns=socket.create_connection(('\(LabRegion.fsn1.hostAddress)',5400),timeout=30)\nh=hashlib.sha256()\nt=0\nend=time.monotonic()+16\nwhile time.monotonic()<end:\n  c=r.randbytes(8192)\n  s.sendall(c)\n  h.update(c)\n  t+=len(c)\n  time.sleep(0.004)\ns.shutdown(socket.SHUT_WR)\ns.recv(1)\nprint(t,h.hexdigest(),flush=True)\n",
            ])
        try await Task.sleep(for: .seconds(2))
        try await lab.partition(nyc, fsn)
        try await Task.sleep(for: .seconds(5))
        let relayed = try await via(lab, nyc, toward: fsn)
        try await lab.heal()
        _ = await client.waitForExit(timeout: .seconds(40))
        _ = await server.waitForExit(timeout: .seconds(10))
        let sent = client.standardOutput.trimmed
        let received = server.standardOutput.trimmed
        Self.report("transfer through \(relayed ?? "no relay") and back: sent \(sent), received \(received)")
        #expect(relayed != nil, "the partition did not move the transfer to a relay")
        #expect(!sent.isEmpty, "client: \(client.standardError)")
        #expect(sent == received, "server: \(server.standardError)")
        #expect(try await via(lab, nyc, toward: fsn) == nil, "back to direct after healing")
    }

    @Test("meshgate drill relay blocks the direct path, reports the relay and the outage, and restores")
    func relayDrill() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let nyc = try #require(primaries[.nyc1])
        let fsn = try #require(primaries[.fsn1])
        let (figures, error) = try await lab.drillRelay(on: nyc, peer: fsn, seconds: 3)
        Self.report(
            "drill relay \(nyc) -> \(fsn): \(String(describing: figures)) via \(figures?.via ?? "-") rtt \(figures?.relayedRTTMilliseconds ?? -1) ms \(error ?? "")"
        )
        let drill = try #require(figures, "no figures: \(error ?? "")")
        #expect(error == nil)
        #expect(drill.passed == true, "\(drill.verdict ?? "")")
        #expect(drill.via != nil)
        #expect((drill.convergenceMilliseconds ?? 9999) < Self.switchBound)
        #expect(drill.longestGapMilliseconds < Self.switchBound)
        #expect(drill.relayedRTTMilliseconds != nil)
        #expect(drill.restored)
        let tables = try await lab.nftablesTables(nyc)
        #expect(!tables.contains { $0.contains("meshgate_drill") }, "the drill's block is gone: \(tables)")
        // A peer no subnet routes through, or a standby, is refused with a reason and changes nothing.
        let (_, refused) = try await lab.drillRelay(on: nyc.partner, peer: fsn, seconds: 3)
        #expect(refused?.contains("standby") == true, "\(refused ?? "accepted")")
    }

    @Test("a lossy direct link between the primaries: traffic through a clean relay, back when the loss ends")
    func lossyDirectLink() async throws {
        let lab = try self.lab
        let primaries = try await lab.restoreBaseline()
        let nyc = try #require(primaries[.nyc1])
        let fsn = try #require(primaries[.fsn1])
        let clock = ContinuousClock()
        let start = clock.now
        // A quarter lost each way: nearly half the probes (round trips) go unanswered; now and then the
        // link also loses an answer and the poll after it, counts as down (700 ms unanswered), and moves as well.
        try await lab.loss(nyc, fsn, percent: 25)
        let moved = try await pollUntil(timeout: .seconds(40), interval: .milliseconds(250)) {
            let there = try await via(lab, nyc, toward: fsn)
            let back = try await via(lab, fsn, toward: nyc)
            return there != nil && there == back ? there : nil
        }
        Self.report("25% loss each way: both through \(moved ?? "nothing") after \(clock.now - start)")
        #expect(moved != nil, "still direct under 25% loss")
        let relayed = try await lab.measureOutage(window: .seconds(3)) {}
        Self.report("through the relay under the loss: \(relayed)")
        #expect(relayed.longestGapMilliseconds < 150, "\(relayed)")
        #expect(try await via(lab, nyc, toward: fsn) == moved, "it stays on the relay while the loss lasts")
        let reasons = lab.auditLog(nyc).events.filter { $0.event == "path_changed" }.compactMap { $0["reason"] }
        Self.report("path changes at \(nyc): \(reasons)")

        try await lab.heal()
        let healed = clock.now
        let direct = try await pollUntil(timeout: .seconds(30), interval: .milliseconds(250)) {
            let there = try await via(lab, nyc, toward: fsn)
            let back = try await via(lab, fsn, toward: nyc)
            return there == nil && back == nil ? true : nil
        }
        Self.report("loss ended: direct again after \(clock.now - healed)")
        #expect(direct == true)
    }
}
