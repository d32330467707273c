import GatewayController
import Routing
import Testing

/// A tiny deterministic generator (SplitMix64), so a lossy run is the same on every machine.
struct SplitMix64 {
    var state: UInt64
    mutating func nextUnit() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
}

/// A box for the generator, so the mesh's drop rule (a closure) can draw from it.
final class LossyLink: @unchecked Sendable {
    var random: SplitMix64
    let loss: Double
    let between: Set<String>
    init(seed: UInt64, loss: Double, between: Set<String>) {
        random = SplitMix64(state: seed)
        self.loss = loss
        self.between = between
    }
    func drops(_ from: String, _ to: String) -> Bool {
        guard between.contains(from), between.contains(to) else { return false }
        return random.nextUnit() < loss
    }
}

@Suite("Controller scenarios: the election under loss")
struct LossScenarioTests {
    @Test(
        "30% loss between the pair, on the WAN and the LAN, for a minute: no role change once the loss is known, and a real failure is still found within three dead intervals",
        arguments: Array(1...20) as [UInt64])
    func noFlapUnderLoss(seed: UInt64) {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(2))
        let link = LossyLink(seed: seed, loss: 0.3, between: ["gw-a", "gw-b"])
        // Loss on both paths the hellos take (with the LAN clean, its copies alone keep the role steady).
        mesh.drops = link.drops
        mesh.lanDrops = link.drops
        // The onset of loss looks like a death until a few hellos went missing: that first second is not
        // counted (no detector can tell them apart before it has seen any loss).
        mesh.run(for: .seconds(1))
        let primary = mesh.primary(of: "nyc1", seenBy: "gw-a")
        let changes = { (mesh: Mesh) in
            mesh.events("gw-a", named: "primary_changed").count + mesh.events("gw-b", named: "primary_changed").count
        }
        let before = changes(mesh)
        mesh.run(for: .seconds(60))
        #expect(changes(mesh) == before, "the role flapped under loss")
        #expect(mesh.primary(of: "nyc1", seenBy: "gw-a") == primary)
        // The standby now waits longer before calling the primary dead, but never more than 3 dead intervals.
        let standby = primary == "gw-a" ? "gw-b" : "gw-a"
        let detection = mesh[standby].election?.detectionTimes[primary ?? ""] ?? .zero
        #expect(detection > .milliseconds(400))
        #expect(detection <= .milliseconds(1200))

        if let primary { mesh.kill(primary) }
        mesh.run(for: .milliseconds(1300))
        #expect(mesh[standby].election?.role == .primary, "a dead primary is still replaced")
    }

    @Test("On a clean link detection stays at the dead interval; after a lossy spell it returns to it within seconds")
    func cleanLinkKeepsDeadInterval() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(3))
        #expect(mesh["gw-b"].election?.detectionTimes["gw-a"] == .milliseconds(400))
        let link = LossyLink(seed: 7, loss: 0.3, between: ["gw-a", "gw-b"])
        mesh.drops = link.drops
        mesh.lanDrops = link.drops
        mesh.run(for: .seconds(20))
        #expect((mesh["gw-b"].election?.detectionTimes["gw-a"] ?? .zero) > .milliseconds(400))
        mesh.drops = { _, _ in false }
        mesh.lanDrops = { _, _ in false }
        mesh.run(for: .seconds(30))
        #expect(mesh["gw-b"].election?.detectionTimes["gw-a"] == .milliseconds(400))
        #expect(mesh["gw-a"].election?.role == .primary)
    }
}
