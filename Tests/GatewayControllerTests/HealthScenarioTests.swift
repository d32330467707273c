import GatewayConfig
import GatewayController
import NetworkTypes
import Routing
import Testing

@Suite("Controller scenarios: the health verdict follows what packets do")
struct HealthScenarioTests {
    let fsn1 = IPPrefix("10.20.10.0/24")!

    func kinds(_ controller: GatewayController) -> [String] { controller.health.problems.map(\.kind.rawValue) }

    func healthEvents(_ mesh: Mesh, _ name: String, state: String) -> [AuditEvent] {
        mesh.events(name, named: "health_problem").filter { $0.fields["state"] == .string(state) }
    }

    @Test("A healthy mesh has no problems")
    func healthy() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(12))
        for name in ["gw-a", "gw-b", "gw-c"] {
            #expect(mesh[name].health.problems.isEmpty, "\(name): \(mesh[name].health.problems)")
            #expect(mesh[name].health.worst == nil)
        }
    }

    @Test("Forwarding off on an interface is critical until it is on again; each switch-off is counted and audited")
    func interfaceForwarding() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        let on = ["net.ipv4.ip_forward": true, "net.ipv4.conf.lan.forwarding": true]
        mesh.kernel["gw-a"] = KernelObservation(forwarding: on)
        mesh.run(for: .seconds(2))
        #expect(mesh["gw-a"].health.problems.isEmpty)
        var off = on
        off["net.ipv4.conf.lan.forwarding"] = false
        mesh.kernel["gw-a"] = KernelObservation(forwarding: off)
        mesh.run(for: .seconds(2))
        let problem = mesh["gw-a"].health.problems.first
        #expect(problem?.kind == .forwardingOff)
        #expect(problem?.subject == "net.ipv4.conf.lan.forwarding")
        #expect(problem?.severity == .critical)
        #expect(mesh["gw-a"].forwardingSwitchedOff["net.ipv4.conf.lan.forwarding"] == 1, "one switch-off, counted once")
        #expect(mesh.events("gw-a", named: "forwarding_switched_off").count == 1)
        #expect(healthEvents(mesh, "gw-a", state: "raised").count == 1)
        mesh.kernel["gw-a"] = KernelObservation(forwarding: on)
        mesh.run(for: .seconds(2))
        #expect(mesh["gw-a"].health.problems.isEmpty)
        #expect(healthEvents(mesh, "gw-a", state: "cleared").count == 1)
    }

    @Test("Global forwarding restored by the driver is a warning for ten minutes, counted per restoration")
    func restoredForwarding() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(2))
        mesh.kernel["gw-a"] = KernelObservation(
            forwarding: ["net.ipv4.ip_forward": true], forwardingRestored: ["net.ipv4.ip_forward"])
        mesh.run(for: .milliseconds(1100))
        mesh.kernel["gw-a"] = KernelObservation(forwarding: ["net.ipv4.ip_forward": true])
        mesh.run(for: .seconds(2))
        #expect(mesh["gw-a"].forwardingSwitchedOff["net.ipv4.ip_forward"] == 1)
        #expect(kinds(mesh["gw-a"]) == ["forwarding_switched_off"])
        #expect(mesh["gw-a"].health.worst == .warning)
        mesh.run(for: .seconds(601))
        #expect(mesh["gw-a"].health.problems.isEmpty, "restorations older than the window are forgotten")
    }

    @Test("A gateway of another group advertising a subnet does not take it away, and the conflict is named")
    func conflict() {
        let d = Fixtures.Gateway(
            name: "gw-ams", address: "100.64.0.4", group: "ams1", subnet: "10.30.10", priority: 100, keySeed: 4)
        let mesh4 = Fixtures.all + [d]
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0, mesh: mesh4) })
        mesh.run(for: .seconds(3))
        #expect(mesh["gw-a"].nextHops[fsn1] == "gw-c")
        // gw-ams sorts before gw-c: by "lowest name" the newcomer would have taken the subnet.
        mesh.add(Fixtures.config(d, mesh: mesh4, advertise: ["10.30.10.0/24", "10.20.10.0/24"]))
        mesh.run(for: .seconds(8))
        #expect(mesh["gw-a"].nextHops[fsn1] == "gw-c", "the subnet stays with the group that carried it")
        let problem = mesh["gw-a"].health.problems.first { $0.kind == .routeConflict }
        #expect(problem?.subject == "10.20.10.0/24")
        #expect(problem?.message.contains("gw-ams") == true)
    }

    @Test("End-to-end probes: sent by the primary from its LAN side; unanswered while the tunnel is up is path_down")
    func pathProbes() {
        var mesh = Mesh([
            Fixtures.config(Fixtures.a), Fixtures.config(Fixtures.b),
            Fixtures.config(Fixtures.c, advertise: ["{prefix: 10.20.10.0/24, probe: 10.20.10.100}"]),
        ])
        let source = IPAddress("10.10.10.2")!
        mesh.step("gw-a", [.pathProbeSource(source)])
        mesh.step("gw-b", [.pathProbeSource(IPAddress("10.10.10.3")!)])
        mesh.run(for: .seconds(8))
        let probes = mesh.nodes["gw-a"]!.outputs.flatMap(\.pathProbes)
        #expect(!probes.isEmpty)
        #expect(probes.allSatisfy { $0.source == source && $0.target == IPAddress("10.20.10.100")! })
        #expect(mesh.nodes["gw-b"]!.outputs.flatMap(\.pathProbes).isEmpty, "the standby's probes would be dropped")
        let path = mesh["gw-a"].pathStatuses(now: mesh.now).first
        #expect(path?.up == true)
        #expect(path?.statistics?.loss == 0)
        #expect(mesh["gw-a"].health.problems.isEmpty)
        mesh.pathAnswered = { _, _ in false }
        mesh.run(for: .seconds(8))
        #expect(mesh["gw-a"].pathStatuses(now: mesh.now).first?.up == false)
        let down = mesh["gw-a"].health.problems.first { $0.kind == .pathDown }
        #expect(down?.subject == "10.20.10.0/24")
        #expect(down?.severity == .critical)
        mesh.pathAnswered = { _, _ in true }
        mesh.run(for: .seconds(3))
        #expect(!kinds(mesh["gw-a"]).contains("path_down"), "answers again: cleared")
    }

    @Test("A withdrawn subnet is critical on its gateway until it is advertised again")
    func withdrawn() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(2))
        mesh.step("gw-c", [.request(.suspendAdvertisement(fsn1))])
        mesh.run(for: .seconds(2))
        #expect(mesh["gw-c"].health.problems.map(\.kind) == [.advertisementWithdrawn])
        mesh.step("gw-c", [.request(.resumeAdvertisement(fsn1))])
        mesh.run(for: .seconds(2))
        #expect(mesh["gw-c"].health.problems.isEmpty)
    }

    @Test("A dead peer that subnets route through is critical peer_down; an expired key is key_expired")
    func peersAndKeys() {
        var mesh = Mesh(
            Fixtures.all.map {
                Fixtures.config($0, peerExtras: $0.name == "gw-a" ? [:] : ["gw-c": "key_expires: 2025-06-01"])
            })
        mesh.run(for: .seconds(12))
        #expect(kinds(mesh["gw-b"]).contains("key_expired"), "\(kinds(mesh["gw-b"]))")
        #expect(!kinds(mesh["gw-a"]).contains("key_expired"))
        mesh.kill("gw-c")
        mesh.run(for: .seconds(8))
        let down = mesh["gw-a"].health.problems.first { $0.kind == .peerDown }
        #expect(down?.subject == "gw-c")
        #expect(down?.severity == .critical, "10.20.10.0/24 still routes through it")
        #expect(down?.hint.contains("probes go unanswered") == true, "\(down?.hint ?? "")")
    }

    @Test("Two members claiming primary (a partition between them) is seen by a third gateway")
    func multiplePrimaries() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(2))
        let pair: Set<String> = ["gw-a", "gw-b"]
        mesh.drops = { pair.contains($0) && pair.contains($1) }
        mesh.lanDrops = { pair.contains($0) && pair.contains($1) }
        mesh.run(for: .seconds(12))
        let problem = mesh["gw-c"].health.problems.first { $0.kind == .multiplePrimaries }
        #expect(problem?.subject == "nyc1", "\(mesh["gw-c"].health.problems)")
        #expect(problem?.severity == .critical)
    }

    @Test("More than four primary changes in ten minutes is a failover flap")
    func flap() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(2))
        for round in 0..<6 {
            let primary = mesh.primary(of: "nyc1", seenBy: "gw-a") ?? "gw-a"
            mesh.step(primary, [.request(.stepDown)])
            mesh.run(for: .seconds(12))
            _ = round
        }
        #expect(kinds(mesh["gw-a"]).contains("failover_flap"), "\(kinds(mesh["gw-a"]))")
        #expect(!kinds(mesh["gw-c"]).contains("failover_flap"), "only the group's members judge its flaps")
    }

    @Test("A burst is run only at a host behind the asker's own group; explain answers only flows from its region")
    func probePortRequestsAreBounded() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(3))
        let fromA = Endpoint(address: IPAddress("100.64.0.1")!, port: 40000)
        func ask(_ bytes: [UInt8]) -> Output {
            mesh.step("gw-c", [.datagram(Datagram(channel: .probePort, bytes: bytes, peer: fromA))])
        }
        let own = ask(
            BurstMessage.request(id: 1, target: IPAddress("10.10.10.100")!, count: 100, interval: .milliseconds(5)))
        #expect(own.bursts.map(\.isRefused) == [false], "a host on gw-a's group's LAN")
        let elsewhere = ask(
            BurstMessage.request(id: 2, target: IPAddress("10.20.10.100")!, count: 100, interval: .milliseconds(5)))
        #expect(elsewhere.bursts.map(\.isRefused) == [true], "gw-c's own LAN is not gw-a's to probe")
        let internet = ask(
            BurstMessage.request(id: 3, target: IPAddress("8.8.8.8")!, count: 100, interval: .milliseconds(5)))
        #expect(internet.bursts.map(\.isRefused) == [true])
        #expect(
            ask(
                BurstMessage.request(
                    id: 4, target: IPAddress("10.10.10.100")!, count: 3000, interval: .milliseconds(255))
            ).bursts.isEmpty, "longer than 15 s: not even parsed")
        func flow(_ source: String) -> [UInt8] {
            ExplainMessage.query(
                id: 9,
                flow: ExplainFlow(
                    source: IPAddress(source)!, destination: IPAddress("10.20.10.100")!, protocolNumber: nil, port: 0))
        }
        #expect(ask(flow("10.10.10.100")).datagrams.count == 1, "a flow from gw-a's region is explained")
        #expect(ask(flow("10.20.10.7")).datagrams.isEmpty, "not gw-a's to ask about")
        for _ in 0..<30 { _ = ask(flow("10.10.10.100")) }
        #expect(mesh["gw-c"].routeMessageDrops["explain_rate_limited", default: 0] > 0)
    }

    @Test("A path answer counts only from the probed host")
    func forgedPathAnswers() {
        var mesh = Mesh([
            Fixtures.config(Fixtures.a), Fixtures.config(Fixtures.b),
            Fixtures.config(Fixtures.c, advertise: ["{prefix: 10.20.10.0/24, probe: 10.20.10.100}"]),
        ])
        mesh.step("gw-a", [.pathProbeSource(IPAddress("10.10.10.2")!)])
        mesh.pathAnswered = { _, _ in false }
        mesh.run(for: .seconds(4))
        // Forge answers to every probe gw-a sent, from another LAN host.
        let forged = mesh.nodes["gw-a"]!.outputs.flatMap(\.pathProbes).map {
            Input.pathProbeAnswer(sequence: $0.sequence, from: IPAddress("10.10.10.66")!)
        }
        mesh.step("gw-a", forged)
        mesh.run(for: .seconds(5))
        #expect(mesh["gw-a"].pathStatuses(now: mesh.now).first?.up == false)
        #expect(mesh["gw-a"].pathStatuses(now: mesh.now).first?.statistics?.loss == 1)
    }

    @Test("The explain query and answer round-trip, and garbage is refused")
    func explainMessages() {
        let flow = ExplainFlow(
            source: IPAddress("10.10.10.100")!, destination: IPAddress("10.20.10.100")!, protocolNumber: 6, port: 443)
        let query = ExplainMessage.query(id: 7, flow: flow)
        #expect(ExplainMessage.parseQuery(query)?.id == 7)
        #expect(ExplainMessage.parseQuery(query)?.flow == flow)
        #expect(ExplainMessage.parseQuery(Array(query.dropLast())) == nil)
        #expect(ExplainMessage.parseQuery(query + [0]) == nil)
        let hops = [ExplainHop(at: "gw-c", check: "forwarding", ok: false, detail: String(repeating: "x", count: 999))]
        let answer = ExplainMessage.answer(id: 7, hops: hops)
        let parsed = ExplainMessage.parseAnswer(answer)
        #expect(parsed?.hops.first?.detail.count == ExplainMessage.maximumText, "long details are cut")
        #expect(parsed?.hops.first?.ok == false)
        for cut in 0..<answer.count { _ = ExplainMessage.parseAnswer(Array(answer.prefix(cut))) }
        #expect(ExplainMessage.parseAnswer(Array(answer.dropLast())) == nil)
    }

    @Test("The far gateway explains its side: forwarding off there is the failing hop")
    func explainEgress() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.kernel["gw-c"] = KernelObservation(forwarding: ["net.ipv4.conf.lan.forwarding": false])
        mesh.run(for: .seconds(3))
        let flow = ExplainFlow(
            source: IPAddress("10.10.10.100")!, destination: IPAddress("10.20.10.100")!, protocolNumber: nil, port: 0)
        let local = mesh["gw-a"].explainIngress(flow, installed: [fsn1], now: mesh.now)
        #expect(local.nextHop == "gw-c")
        #expect(local.hops.allSatisfy { $0.ok }, "\(local.hops)")
        let far = mesh["gw-c"].explainEgress(flow, now: mesh.now)
        #expect(far.first { !$0.ok }?.check == "forwarding", "\(far)")
        let nowhere = ExplainFlow(
            source: IPAddress("10.10.10.100")!, destination: IPAddress("10.99.0.1")!, protocolNumber: nil, port: 0)
        #expect(mesh["gw-a"].explainIngress(nowhere, installed: [], now: mesh.now).hops.last?.check == "route")
    }
}
