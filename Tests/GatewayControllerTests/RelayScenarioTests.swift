import GatewayConfig
import GatewayController
import NetworkTypes
import Routing
import Testing

@Suite("Controller scenarios: relays around a broken direct link")
struct RelayScenarioTests {
    let nyc1 = IPPrefix("10.10.10.0/24")!
    let fsn1 = IPPrefix("10.20.10.0/24")!

    func mesh() -> Mesh {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(3))
        return mesh
    }

    /// Who carries `prefix` in `gateway`'s engine intent.
    func carrier(of prefix: IPPrefix, at gateway: String, in mesh: Mesh) -> String? {
        mesh[gateway].intent.peers.values.first { $0.allowedIPs.contains(prefix) }?.name
    }

    @Test("A partition between two primaries moves both directions to the same relay within a second")
    func partitionBetweenPrimaries() {
        var mesh = mesh()
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-c")
        #expect(carrier(of: nyc1, at: "gw-c", in: mesh) == "gw-a")
        let cut: Set<[String]> = [["gw-a", "gw-c"], ["gw-c", "gw-a"]]
        mesh.drops = { cut.contains([$0, $1]) }
        mesh.run(for: .seconds(1))
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-b", "a's traffic for fsn1 goes through b")
        #expect(carrier(of: nyc1, at: "gw-c", in: mesh) == "gw-b", "and c's for nyc1 through b: symmetric")
        #expect(mesh["gw-a"].intent.ruleset.relayed == [fsn1], "transit towards a relayed prefix is refused")
        #expect(mesh["gw-b"].intent.ruleset.relayed.isEmpty, "the relay itself reaches both directly")
        #expect(mesh["gw-a"].relayedRTTMilliseconds(toward: "gw-c") != nil)
        #expect(mesh["gw-a"].intent.peers["gw-c"]?.allowedIPs == [IPPrefix("100.64.0.3/32")!])
        let changes = mesh.events("gw-a", named: "path_changed")
        #expect(changes.count == 1)
        #expect(changes.first?.fields["to"] == .string("via gw-b"))
        // Longer than route_expiry: the relay passes c's adverts on, so a keeps c's routes.
        mesh.run(for: .seconds(20))
        #expect(mesh["gw-a"].intent.routes[fsn1] == "gw-c")
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-b")
        #expect(mesh["gw-c"].intent.routes[nyc1] == "gw-a")
        // Healed: back to direct once the link has been up for the hold, not before.
        mesh.drops = { _, _ in false }
        mesh.run(for: .seconds(3))
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-b", "no flapping back at the first keepalive")
        mesh.run(for: .seconds(3))
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-c")
        #expect(carrier(of: nyc1, at: "gw-c", in: mesh) == "gw-a")
        #expect(mesh["gw-a"].intent.ruleset.relayed.isEmpty)
        #expect(mesh.events("gw-a", named: "path_changed").last?.fields["to"] == .string("direct"))
    }

    @Test("Across a partition both ends take the relay the lower-named end chose from its newer RTTs")
    func partitionedEndsAgree() {
        let four = [Fixtures.a, Fixtures.b, Fixtures.c, Fixtures.d]
        var mesh = Mesh(four.map { Fixtures.config($0, mesh: four) })
        mesh.run(for: .seconds(3))
        // The path between a and b gets slower after their last links messages: a learns it from its own
        // probes, c only from a's next links message, which the partition keeps from reaching c directly.
        mesh.delay = { Set([$0, $1]) == ["gw-a", "gw-b"] ? .milliseconds(8) : Mesh.latency }
        mesh.run(for: .seconds(10))
        mesh.drops = { Set([$0, $1]) == ["gw-a", "gw-c"] }
        mesh.run(for: .seconds(1.5))
        // a decides (lower name): d is cheaper from what it knows now; c, with an older view of a–b, must
        // end up on d too (by its own costs or by following a's links message, which b or d passes on).
        #expect(mesh["gw-a"].relay(for: "gw-c") == "gw-d")
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-d")
        #expect(carrier(of: nyc1, at: "gw-c", in: mesh) == "gw-d", "both directions through one relay")
        mesh.run(for: .seconds(5))
        #expect(carrier(of: nyc1, at: "gw-c", in: mesh) == "gw-d", "and it stays")
    }

    /// Drops about `percent`% of what crosses between the gateways of `pairs`, each way (a fixed seed).
    final class Loss {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let percent: UInt64
        let pairs: [Set<String>]
        init(_ percent: UInt64, between pairs: [Set<String>]) {
            self.percent = percent
            self.pairs = pairs
        }
        func drops(_ from: String, _ to: String) -> Bool {
            guard pairs.contains(Set([from, to])) else { return false }
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % 100 < percent
        }
    }

    @Test("A direct link that loses most of its probes goes through a clean relay, and comes back once clean")
    func lossyDirectLink() {
        var mesh = mesh()
        // A quarter of the datagrams lost each way (keepalives spared: the link stays up): nearly half the
        // probes, a round trip each, go unanswered.
        let loss = Loss(25, between: [["gw-a", "gw-c"]])
        mesh.datagramDrops = loss.drops
        mesh.run(for: .seconds(12))
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-b", "a (the lower name) moved to the relay")
        #expect(carrier(of: nyc1, at: "gw-c", in: mesh) == "gw-b", "and c followed")
        let reasons = mesh.events("gw-a", named: "path_changed").map { "\($0.fields["reason"].map { "\($0)" } ?? "")" }
        #expect(reasons.contains { $0.contains("of the last 10 probes") }, "\(reasons)")
        // It stays while the loss lasts: coming back needs a clean window.
        mesh.run(for: .seconds(20))
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-b")
        // Clean again: back only after enough clean probes and the hold.
        mesh.datagramDrops = { _, _ in false }
        mesh.run(for: .seconds(3))
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-b", "no return at the first clean probe")
        mesh.run(for: .seconds(17))
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-c")
        #expect(carrier(of: nyc1, at: "gw-c", in: mesh) == "gw-a")
    }

    @Test("A lossy direct link stays when no relay is clean")
    func lossyWithoutCleanRelay() {
        var mesh = mesh()
        // b's link to c is as lossy as the direct one: nothing to gain.
        let loss = Loss(25, between: [["gw-a", "gw-c"], ["gw-b", "gw-c"]])
        mesh.datagramDrops = loss.drops
        mesh.run(for: .seconds(12))
        let reasons = mesh.events("gw-a", named: "path_changed").map { "\($0.fields["reason"].map { "\($0)" } ?? "")" }
        #expect(!reasons.contains { $0.contains("of the last 10 probes") }, "\(reasons)")
    }

    @Test("Two gateways cut off from each other from the start learn each other's routes through a relay")
    func neverHeard() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.drops = { Set([$0, $1]) == ["gw-a", "gw-c"] }
        mesh.run(for: .seconds(5))
        #expect(mesh["gw-a"].intent.routes[fsn1] == nil, "nothing relayed during the start-up grace")
        mesh.run(for: .seconds(8))
        #expect(mesh["gw-a"].intent.routes[fsn1] == "gw-c", "gw-b passed gw-c's routes on")
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-b")
        #expect(carrier(of: nyc1, at: "gw-c", in: mesh) == "gw-b")
    }

    @Test("A link that works one way only is down for both ends")
    func oneWayFailure() {
        var mesh = mesh()
        mesh.drops = { $0 == "gw-a" && $1 == "gw-c" }
        mesh.run(for: .seconds(1.5))
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-b", "a hears c, but c says it does not hear a")
        #expect(carrier(of: nyc1, at: "gw-c", in: mesh) == "gw-b")
    }

    @Test("Without a relay that hears both ends the direct path stays, and a relay's message is refused")
    func noRelay() {
        var mesh = mesh()
        // b cannot reach c either: nobody can relay between a and c.
        mesh.drops = { Set([$0, $1]) == ["gw-a", "gw-c"] || Set([$0, $1]) == ["gw-b", "gw-c"] }
        mesh.run(for: .seconds(2))
        // A relay whose own link died at the same moment may be taken for one round, until its links
        // message says so; then the direct path stays.
        #expect(carrier(of: fsn1, at: "gw-a", in: mesh) == "gw-c")
        #expect(mesh["gw-a"].relay(for: "gw-c") == nil)
        // gw-b passing on a message of gw-c while gw-a hears gw-c directly is refused.
        mesh.drops = { _, _ in false }
        mesh.run(for: .seconds(1))
        let forged = Advertisement.relayed(
            .init(
                sender: "gw-b", sequence: 1 << 40,
                message: .withdraw(.init(sender: "gw-c", sequence: 1 << 40))))
        mesh.step(
            "gw-a",
            [
                .datagram(
                    .init(
                        channel: .control, bytes: forged.encode(),
                        peer: .init(address: IPAddress("100.64.0.2")!, port: 51821)))
            ])
        #expect(mesh["gw-a"].intent.routes[fsn1] == "gw-c", "a gateway heard directly speaks for itself")
        #expect(mesh["gw-a"].routeMessageDrops["relayed_refused"] == 1)
    }
}
