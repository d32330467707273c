import GatewayConfig
import GatewayController
import NetworkTypes
import Routing
import Testing

@Suite("Controller scenarios: advertisements, conflicts, withdrawal, start-up")
struct RouteScenarioTests {
    let nyc1 = IPPrefix("10.10.10.0/24")!
    let fsn1 = IPPrefix("10.20.10.0/24")!

    @Test("A prefix inside another group's subnet, or inside our own LAN, is never installed")
    func conflictingAdvertisements() {
        // gw-c (fsn1) also advertises a /28 inside nyc1's /24: a hijack attempt.
        let hijack = "10.10.10.96/28"
        var mesh = Mesh([
            Fixtures.config(Fixtures.a), Fixtures.config(Fixtures.b),
            Fixtures.config(Fixtures.c, advertise: ["10.20.10.0/24", hijack]),
        ])
        mesh.run(for: .seconds(2))
        let stolen = IPPrefix(hijack)!
        #expect(mesh["gw-a"].intent.routes[stolen] == nil, "never a learned route inside our own LAN")
        #expect(mesh["gw-b"].intent.routes[stolen] == nil)
        #expect(mesh["gw-a"].intent.routes[fsn1] == "gw-c", "the legitimate subnet is still learned")
        #expect(!mesh.events("gw-a", named: "route_rejected").isEmpty)
    }

    @Test("A withdrawal drill takes the subnet away from the far side and gives it back")
    func withdrawal() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(2))
        #expect(mesh["gw-a"].intent.routes[fsn1] == "gw-c")
        #expect(mesh.step("gw-c", [.request(.suspendAdvertisement(fsn1))]).results == [.done])
        mesh.run(for: .milliseconds(10))
        #expect(mesh["gw-a"].intent.routes[fsn1] == nil)
        #expect(mesh["gw-a"].intent.peers["gw-c"]?.allowedIPs == [IPPrefix("100.64.0.3/32")!])
        // A subnet that is not ours cannot be "withdrawn".
        #expect(mesh.step("gw-c", [.request(.suspendAdvertisement(nyc1))]).results != [.done])
        mesh.step("gw-c", [.request(.resumeAdvertisement(fsn1))])
        mesh.run(for: .milliseconds(10))
        #expect(mesh["gw-a"].intent.routes[fsn1] == "gw-c")
    }

    @Test("A silent gateway's routes expire after route_expiry, not before")
    func expiry() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(2))
        mesh.kill("gw-c")
        mesh.run(for: .seconds(10))
        #expect(mesh["gw-a"].intent.routes[fsn1] == "gw-c")
        mesh.run(for: .seconds(8))
        #expect(mesh["gw-a"].intent.routes[fsn1] == nil)
        #expect(
            mesh.events("gw-a", named: "route_withdrawn").contains { $0.fields["subnet"] == .string("10.20.10.0/24") })
    }

    @Test("At start the sync keeps what the kernel holds until adverts could have arrived")
    func startUpKeepsRoutes() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        #expect(mesh["gw-a"].intent.keepStaleRoutes)
        mesh.run(for: .seconds(6))
        #expect(!mesh["gw-a"].intent.keepStaleRoutes)
    }

    @Test("A failed kernel sync makes the controller wake again soon to retry")
    func kernelRetry() {
        var mesh = Mesh(Fixtures.all.map { Fixtures.config($0) })
        mesh.run(for: .seconds(6))
        mesh.step("gw-c", [.kernelSync(failure: "EPERM")])
        #expect(mesh["gw-c"].kernelSyncFailure == "EPERM")
        #expect(mesh["gw-c"].nextDeadline.duration(since: mesh.now) <= .milliseconds(100))
        mesh.step("gw-c", [.kernelSync(failure: nil)])
        #expect(mesh["gw-c"].kernelSyncFailure == nil)
    }
}
