import CryptoPrimitives
import GatewayConfig
import GatewayController
import NetworkTypes
import Routing
import Testing

@Suite("Controller scenarios: reloads, key rotation, key expiry")
struct ReloadAndKeyScenarioTests {
    let fsn1 = IPPrefix("10.20.10.0/24")!

    @Test(
        "A reload applies the difference: a new peer, a removed peer's routes, a new route table; a group change is refused"
    )
    func reloadDiffs() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(2))
        let d = Fixtures.Gateway(
            name: "gw-d", address: "100.64.0.4", group: "ams1", subnet: "10.30.10", priority: 200, keySeed: 4)
        let added = Fixtures.config(Fixtures.a, mesh: Fixtures.all + [d])
        var out = mesh.step("gw-a", [.reload(added, connectedLAN: [])])
        guard case .reloaded = out.results.first else {
            Issue.record("reload refused: \(out.results)")
            return
        }
        #expect(mesh["gw-a"].intent.peers["gw-d"]?.publicKey == Fixtures.key(4))
        #expect(mesh["gw-a"].intent.routes[fsn1] == "gw-c", "routes through unchanged peers stay")

        // gw-c leaves the list: its routes go at once, and so does its peer.
        let removed = Fixtures.config(Fixtures.a, mesh: [Fixtures.a, Fixtures.b, d])
        out = mesh.step("gw-a", [.reload(removed, connectedLAN: [])])
        #expect(mesh["gw-a"].intent.peers["gw-c"] == nil)
        #expect(mesh["gw-a"].intent.routes[fsn1] == nil)
        #expect(out.events.contains { $0.name == "config_reloaded" })

        let table = Fixtures.config(
            Fixtures.a, mesh: [Fixtures.a, Fixtures.b, d], extra: "kernel:\n  route_table: 100")
        mesh.step("gw-a", [.reload(table, connectedLAN: [])])
        #expect(mesh["gw-a"].intent.routeTable == 100)

        var moved = Fixtures.a
        moved.group = "fsn1"
        let before = mesh["gw-a"].intent
        out = mesh.step("gw-a", [.reload(Fixtures.config(moved, mesh: [moved, Fixtures.b, d]), connectedLAN: [])])
        guard case .refused = out.results.first else {
            Issue.record("an HA group change must need a restart: \(out.results)")
            return
        }
        #expect(mesh["gw-a"].intent == before)
        #expect(out.events.contains { $0.name == "config_rejected" })
        #expect(mesh.step("gw-a", [.reload(mesh["gw-a"].config, connectedLAN: [])]).results == [.unchanged])
    }

    @Test(
        "Key rotation: live peers swap our key keeping sessions; a silent peer leaves the rotation unsettled until 2 s")
    func keyRotationWithSilentPeer() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(2))
        mesh.drops = { from, to in from == "gw-c" && to == "gw-a" }  // gw-c hears us, but its answers are lost
        let newKey = Fixtures.key(100)
        mesh.step("gw-a", [.request(.beginKeyRotation(newPublicKey: newKey, livePeers: ["gw-b", "gw-c"]))])
        mesh.run(for: .milliseconds(500))
        let rotation = mesh["gw-a"].keyRotation
        #expect(rotation?.acknowledged == ["gw-b"])
        #expect(rotation?.isSettled == false, "still waiting for gw-c")
        // gw-b swapped gw-a's key in place: the driver replaces it in the engine keeping the sessions.
        #expect(mesh["gw-b"].peerKeys["gw-a"] == newKey)
        #expect(mesh["gw-b"].intent.peers["gw-a"]?.publicKey == newKey)
        #expect(mesh.nodes["gw-b"]!.outputs.contains { $0.peerKeyRotations.contains { $0.peer == "gw-a" } })
        mesh.run(for: .seconds(2))
        #expect(mesh["gw-a"].keyRotation?.isSettled == true)
        #expect(mesh["gw-a"].keyRotation?.missing == ["gw-c"])
        // The driver abandons it: our key stays the old one.
        mesh.step("gw-a", [.request(.abandonKeyRotation)])
        #expect(mesh["gw-a"].keyRotation == nil)
        #expect(mesh["gw-a"].publicKey == Fixtures.key(1))

        mesh.drops = { _, _ in false }
        mesh.step("gw-a", [.request(.beginKeyRotation(newPublicKey: newKey, livePeers: ["gw-b", "gw-c"]))])
        mesh.run(for: .milliseconds(100))
        #expect(mesh["gw-a"].keyRotation?.isSettled == true)
        #expect(mesh["gw-a"].keyRotation?.missing == [])
        let out = mesh.step("gw-a", [.request(.completeKeyRotation)])
        #expect(mesh["gw-a"].publicKey == newKey)
        #expect(out.events.contains { $0.name == "key_rotated" })
    }

    @Test("A key announcement from an address that is no peer's is ignored")
    func forgedAnnouncement() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(1))
        let forged = Datagram(
            channel: .control, bytes: KeyRotation.announceMagic + Fixtures.key(99).bytes,
            peer: Endpoint(address: IPAddress("100.64.0.99")!, port: 51821))
        let out = mesh.step("gw-a", [.datagram(forged)])
        #expect(out.peerKeyRotations.isEmpty)
        #expect(out.datagrams.allSatisfy { !$0.bytes.starts(with: KeyRotation.acknowledgeMagic) })
    }

    @Test("An expired peer key: the peer leaves the intent, its routes go, and the expiry is audited")
    func keyExpiry() {
        // gw-c's key expires 30 s after the mesh starts (2026-01-01T00:00:30Z).
        let configA = Fixtures.config(Fixtures.a, peerExtras: ["gw-c": "key_expires: 2026-01-01T00:00:30Z"])
        var mesh = Mesh([configA, Fixtures.config(Fixtures.b), Fixtures.config(Fixtures.c)])
        mesh.run(for: .seconds(5))
        #expect(mesh["gw-a"].intent.peers["gw-c"] != nil)
        #expect(mesh["gw-a"].intent.routes[fsn1] == "gw-c")
        #expect(mesh.events("gw-a", named: "key_expiring").count == 1, "warned once, not every second")
        mesh.run(for: .seconds(30))
        #expect(mesh["gw-a"].intent.peers["gw-c"] == nil)
        #expect(mesh["gw-a"].intent.routes[fsn1] == nil)
        #expect(mesh.events("gw-a", named: "key_expired").count == 1)
        #expect(mesh.events("gw-a", named: "peer_left").contains { $0.fields["reason"] == .string("key expired") })
    }
}
