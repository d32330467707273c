import GatewayConfig
import GatewayController
import NetworkTypes
import Routing
import Testing

/// HA scenarios on a manual clock: three gateways in memory (nyc1: gw-a 200, gw-b 100; fsn1: gw-c).
@Suite("Controller scenarios: election, failover, preemption")
struct FailoverScenarioTests {
    let nyc1 = IPPrefix("10.10.10.0/24")!

    func startedMesh(preempt: Bool = false, preemptDelay: String = "0s") -> Mesh {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0, preempt: preempt, preemptDelay: preemptDelay) })
        mesh.run(for: .seconds(2))
        return mesh
    }

    @Test("At start the higher priority is elected, holds the VIP alone, and the far region routes through it")
    func startUp() {
        let mesh = startedMesh()
        #expect(mesh.primary(of: "nyc1", seenBy: "gw-a") == "gw-a")
        #expect(mesh.primary(of: "nyc1", seenBy: "gw-b") == "gw-a")
        #expect(mesh["gw-a"].intent.virtualIP?.prefix == IPPrefix("10.10.10.1/24"))
        #expect(mesh["gw-b"].intent.virtualIP == nil)
        #expect(mesh["gw-c"].intent.routes[nyc1] == "gw-a")
        #expect(mesh["gw-c"].intent.peers["gw-a"]?.allowedIPs.contains(nyc1) == true)
        #expect(mesh["gw-c"].intent.peers["gw-b"]?.allowedIPs.contains(nyc1) == false)
        // Our own subnet is never routed through the overlay.
        #expect(mesh["gw-a"].intent.routes[nyc1] == nil)
    }

    @Test("The primary dies: the standby takes over within the dead interval, and the far side follows")
    func failover() {
        var mesh = startedMesh()
        mesh.kill("gw-a")
        mesh.run(for: .milliseconds(390))
        #expect(mesh["gw-b"].election?.role != .primary, "not before the dead interval (400 ms)")
        mesh.run(for: .milliseconds(150))
        #expect(mesh["gw-b"].election?.role == .primary)
        #expect(mesh["gw-b"].intent.virtualIP != nil)
        #expect(mesh["gw-c"].intent.routes[nyc1] == "gw-b")
        let takeover = mesh.nodes["gw-b"]!.outputs.first { !$0.failovers.isEmpty }
        #expect(takeover?.announceVirtualIP == true)
        #expect(takeover?.failovers.first?.group == "nyc1")
        // The takeover is announced five times 100 ms apart (keepalived's garp_master_repeat 5).
        let announcements = mesh.nodes["gw-b"]!.outputs.filter(\.announceVirtualIP).count
        #expect(announcements >= 2)
        mesh.run(for: .milliseconds(500))
        #expect(mesh.nodes["gw-b"]!.outputs.filter(\.announceVirtualIP).count == 5)
        let changed = mesh.events("gw-c", named: "primary_changed").last
        #expect(changed?.fields["to"] == .string("gw-b"))
    }

    @Test("The WAN between the pair fails but their LAN carries the hellos: no second primary; both failing: failover")
    func hellosCrossTheLAN() {
        var mesh = startedMesh()
        let pair: Set = ["gw-a", "gw-b"]
        mesh.drops = { from, to in pair.contains(from) && pair.contains(to) }
        mesh.run(for: .seconds(3))
        #expect(mesh["gw-b"].election?.role == .standby, "the LAN hellos keep gw-b standby")
        #expect(mesh["gw-a"].intent.virtualIP != nil && mesh["gw-b"].intent.virtualIP == nil)
        mesh.lanDrops = { from, to in pair.contains(from) && pair.contains(to) }
        mesh.run(for: .seconds(1))
        #expect(mesh["gw-b"].election?.role == .primary, "with both paths gone, gw-b takes over")
        mesh.drops = { _, _ in false }
        mesh.lanDrops = { _, _ in false }
        mesh.run(for: .seconds(2))
        let primaries = ["gw-a", "gw-b"].filter { mesh[$0].election?.role == .primary }
        #expect(primaries.count == 1, "healed: one primary, not \(primaries)")
    }

    @Test("The primary's WAN goes down (its LAN hellos still arrive): it hands over at its next check")
    func wanCutOfPrimary() {
        var mesh = startedMesh()
        mesh.drops = { from, to in from == "gw-a" || to == "gw-a" }
        mesh.setWAN("gw-a", healthy: false)
        mesh.run(for: .milliseconds(300))
        #expect(mesh["gw-a"].election?.role == .standby)
        #expect(mesh["gw-b"].election?.role == .primary)
        #expect(mesh["gw-b"].intent.virtualIP != nil && mesh["gw-a"].intent.virtualIP == nil)
        #expect(mesh.events("gw-a", named: "wan_health").count == 1)
    }

    @Test("A recorded LAN hello replayed after the primary died does not keep it alive")
    func replayedLANHello() throws {
        var mesh = startedMesh()
        let recorded = try #require(
            mesh.nodes["gw-a"]!.outputs.flatMap(\.datagrams).last { $0.channel == .lanHello })
        mesh.kill("gw-a")
        // The replay reaches gw-b in every one of its steps, so also in the step where gw-a's liveness runs
        // out (datagrams are taken before the election's timers).
        for _ in 0..<20 {
            mesh.advanceClock(to: mesh["gw-b"].nextDeadline)
            mesh.step(
                "gw-b",
                [
                    .datagram(
                        Datagram(
                            channel: .lanHello, bytes: recorded.bytes,
                            peer: .init(address: IPAddress("100.64.0.1")!, port: 51823)))
                ])
        }
        #expect(mesh["gw-b"].election?.role == .primary, "the replays must not hold off the takeover")
    }

    @Test("A LAN hello is taken only from a member of our own group, and only as a hello")
    func lanHelloFromOutsider() {
        var mesh = startedMesh()
        let before = mesh["gw-b"].election?.role
        let forged = Advertisement.hello(
            Advertisement.Hello(
                sender: "gw-c", sequence: 1_000_000, group: "nyc1", priority: 255, role: .primary, term: 99,
                lanHealthy: true, held: false)
        ).encode()
        let out = mesh.step(
            "gw-b",
            [
                .datagram(
                    Datagram(
                        channel: .lanHello, bytes: forged, peer: .init(address: IPAddress("100.64.0.3")!, port: 51823)))
            ])
        #expect(out.failovers.isEmpty)
        #expect(mesh["gw-b"].election?.role == before)
        #expect(mesh["gw-b"].routeMessageDrops["lan_hello_refused"] == 1)
    }

    @Test(
        "A primary frozen past the dead interval holds no VIP when it runs again until the hellos decide; its partner keeps the role"
    )
    func frozenPrimary() {
        var mesh = startedMesh()
        mesh.freeze("gw-a")
        mesh.run(for: .seconds(3))
        #expect(mesh["gw-b"].election?.role == .primary)
        let first = mesh.thaw("gw-a")
        #expect(mesh["gw-a"].intent.virtualIP == nil, "no VIP on the first step after the freeze")
        #expect(!first.announceVirtualIP)
        #expect(mesh.events("gw-a", named: "primary_stalled").count == 1)
        mesh.run(for: .seconds(1))
        #expect(mesh["gw-a"].election?.role == .standby)
        #expect(mesh["gw-a"].intent.virtualIP == nil)
        #expect(mesh["gw-b"].intent.virtualIP != nil)
        #expect(!mesh.nodes["gw-a"]!.outputs.contains { $0.announceVirtualIP && !$0.failovers.isEmpty })
    }

    @Test("A stalled primary whose partner is gone takes the VIP back after a dead interval, and announces it")
    func stalledPrimaryAlone() {
        var mesh = startedMesh()
        mesh.kill("gw-b")
        mesh.run(for: .seconds(1))
        mesh.freeze("gw-a")
        mesh.run(for: .seconds(2))
        mesh.thaw("gw-a")
        #expect(mesh["gw-a"].intent.virtualIP == nil)
        let before = mesh.nodes["gw-a"]!.outputs.count
        mesh.run(for: .milliseconds(450))
        #expect(mesh["gw-a"].election?.role == .primary)
        #expect(mesh["gw-a"].intent.virtualIP != nil)
        #expect(mesh.nodes["gw-a"]!.outputs.dropFirst(before).contains { $0.announceVirtualIP })
    }

    @Test(
        "A primary's intent asks for an ARP lease of a dead interval less a hello on its IPv4 VIP, renewed every hello")
    func virtualIPLease() {
        let mesh = startedMesh()
        let vip = mesh["gw-a"].intent.virtualIP
        #expect(vip?.lease == .milliseconds(300))
        #expect(vip?.leaseRenewal == .milliseconds(100))
        #expect(mesh["gw-a"].intent.ruleset.virtualIPGuard == IPv4Address(10, 10, 10, 1))
        #expect(mesh["gw-b"].intent.ruleset.virtualIPGuard == IPv4Address(10, 10, 10, 1), "the standby's table too")
        #expect(mesh["gw-c"].intent.ruleset.virtualIPGuard == IPv4Address(10, 20, 10, 1), "a group of one too")
    }

    @Test("Without preemption a recovered primary stays standby; with a preempt delay it takes over after it")
    func preemption() {
        var plain = startedMesh()
        plain.kill("gw-a")
        plain.run(for: .seconds(1))
        plain.restart(Fixtures.config(Fixtures.a))
        plain.run(for: .seconds(5))
        #expect(plain.primary(of: "nyc1", seenBy: "gw-c") == nil || plain["gw-c"].intent.routes[nyc1] == "gw-b")
        #expect(plain["gw-b"].election?.role == .primary)
        #expect(plain["gw-a"].election?.role != .primary)

        var delayed = startedMesh(preempt: true, preemptDelay: "2s")
        delayed.kill("gw-a")
        delayed.run(for: .seconds(1))
        #expect(delayed["gw-b"].election?.role == .primary)
        delayed.restart(Fixtures.config(Fixtures.a, preempt: true, preemptDelay: "2s"))
        delayed.run(for: .milliseconds(1500))
        #expect(delayed["gw-b"].election?.role == .primary, "the recovered gateway waits out its preempt delay")
        #expect(delayed["gw-a"].election?.role != .primary)
        delayed.run(for: .seconds(2))
        #expect(delayed["gw-a"].election?.role == .primary)
        #expect(delayed["gw-b"].election?.role != .primary)
        #expect(delayed["gw-c"].intent.routes[nyc1] == "gw-a")
    }

    @Test("A LAN that goes down hands the role to the partner")
    func lanDown() {
        var mesh = startedMesh()
        mesh.setLAN("gw-a", healthy: false)
        mesh.run(for: .seconds(1))
        #expect(mesh["gw-a"].election?.role != .primary)
        #expect(mesh["gw-b"].election?.role == .primary)
        #expect(mesh["gw-c"].intent.routes[nyc1] == "gw-b")
    }

    @Test("A step-down request (the failover drill) moves the role at once, and a planned stop withdraws")
    func stepDownAndStop() {
        var mesh = startedMesh()
        let out = mesh.step("gw-a", [.request(.stepDown)])
        #expect(out.results == [.done])
        #expect(mesh["gw-a"].intent.virtualIP == nil)
        mesh.run(for: .milliseconds(50))
        #expect(mesh["gw-b"].election?.role == .primary)
        #expect(mesh["gw-c"].intent.routes[nyc1] == "gw-b")
        // gw-b leaves the mesh cleanly: gw-c drops its routes at once, not after route expiry.
        mesh.step("gw-b", [.request(.withdrawFromMesh)])
        mesh.kill("gw-b")
        mesh.run(for: .milliseconds(20))
        #expect(mesh["gw-c"].routeTable.entries["gw-b"] == nil)
    }

    @Test("The controller sleeps: with nothing due, its next deadline is a hello interval away, not 10 ms")
    func deadlines() {
        var mesh = startedMesh()
        let hello = mesh["gw-a"].config.timers.helloInterval
        let deadline = mesh["gw-a"].nextDeadline
        #expect(deadline > mesh.now)
        #expect(deadline.duration(since: mesh.now) <= hello)
        // Hellos go to the members of our group only.
        mesh.run(for: hello)
        let hellos = mesh.nodes["gw-a"]!.outputs.last { output in
            output.datagrams.contains { Advertisement.decode($0.bytes).map(\.kind) == .success(.hello) }
        }
        let targets = Set(
            hellos?.datagrams.filter { Advertisement.decode($0.bytes).map(\.kind) == .success(.hello) }.map(
                \.peer.address) ?? [])
        #expect(targets == [IPAddress("100.64.0.2")!])
    }
}
