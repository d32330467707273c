import Routing
import Testing

@Suite("PrimaryElection inputs")
struct PrimaryElectionTests {
    static let configuration = PrimaryElection.Configuration(
        name: "gw-b", group: "nyc1", members: ["gw-a", "gw-b", "gw-c"], priority: 100)

    static func hello(
        _ sender: String = "gw-a", sequence: UInt64, role: PrimaryElection.Role = .primary, term: UInt64 = 1,
        group: String = "nyc1", priority: UInt8 = 200, lanHealthy: Bool = true, held: Bool = false
    ) -> Advertisement.Hello {
        .init(
            sender: sender, sequence: sequence, group: group, priority: priority, role: role, term: term,
            lanHealthy: lanHealthy, held: held)
    }

    @Test("starts as a standby in its start-up wait and claims after one dead interval when alone")
    func startUp() {
        var election = PrimaryElection(configuration: Self.configuration, now: at(ms: 0))
        #expect(election.role == .standby)
        #expect(election.isStarting)
        #expect(election.nextDeadline(after: at(ms: 0)) == at(ms: 400))
        #expect(election.tick(now: at(ms: 399)) == nil)
        let change = election.tick(now: at(ms: 400))
        #expect(change?.to == .primary)
        #expect(change?.term == 1)
        #expect(change?.reason == .noPrimary)
        #expect(!election.isStarting)
    }

    @Test("hearing a primary ends the start-up wait and adopts its term")
    func hearingPrimary() {
        var election = PrimaryElection(configuration: Self.configuration, now: at(ms: 0))
        #expect(election.receivedHello(Self.hello(sequence: 1, term: 5), now: at(ms: 10)) == nil)
        #expect(!election.isStarting)
        #expect(election.term == 5)
        #expect(election.currentPrimary(now: at(ms: 10))?.gateway == "gw-a")
        #expect(election.nextDeadline(after: at(ms: 10)) == at(ms: 410))
        // Silent for a dead interval: take over with the next term.
        let change = election.tick(now: at(ms: 410))
        #expect(change?.term == 6)
        #expect(change?.reason == .primarySilent("gw-a", .milliseconds(400)))
        // A dead member's passed deadline is not reported again.
        #expect(election.nextDeadline(after: at(ms: 410)) == nil)
    }

    @Test("ignores hellos of other groups, its own name, and stale sequences from a live member")
    func ignoredHellos() {
        var election = PrimaryElection(configuration: Self.configuration, now: at(ms: 0))
        _ = election.receivedHello(Self.hello(sequence: 1, group: "fsn1"), now: at(ms: 1))
        _ = election.receivedHello(Self.hello("gw-b", sequence: 1), now: at(ms: 1))
        #expect(election.members(now: at(ms: 1)).count == 1)

        _ = election.receivedHello(Self.hello(sequence: 10, role: .primary), now: at(ms: 2))
        // An older hello claiming standby must not make the role look vacant.
        _ = election.receivedHello(Self.hello(sequence: 9, role: .standby), now: at(ms: 3))
        #expect(election.currentPrimary(now: at(ms: 3))?.gateway == "gw-a")
        // After the member went silent, a restarted counter is accepted.
        _ = election.receivedHello(Self.hello(sequence: 1, role: .standby, term: 1), now: at(ms: 500))
        #expect(election.members(now: at(ms: 500)).last?.isLive == true)
    }

    @Test("the hello carries role, term, LAN health and hold")
    func makeHello() {
        var election = PrimaryElection(configuration: Self.configuration, now: at(ms: 0))
        _ = election.tick(now: at(ms: 400))
        _ = election.receivedHello(Self.hello(sequence: 1, role: .standby, term: 1, priority: 50), now: at(ms: 401))
        guard case .steppedDown = election.stepDown(now: at(ms: 402)) else {
            Issue.record("step-down refused")
            return
        }
        let hello = election.makeHello(sequence: 77, now: at(ms: 403))
        #expect(
            hello
                == Advertisement.Hello(
                    sender: "gw-b", sequence: 77, group: "nyc1", priority: 100, role: .standby, term: 1,
                    lanHealthy: true, held: true))
        _ = election.lanHealth(false, now: at(ms: 404))
        #expect(election.makeHello(sequence: 78, now: at(ms: 404)).lanHealthy == false)
        #expect(election.makeHello(sequence: 79, now: at(ms: 10_403)).held == false)
    }

    @Test("a member on hold that is the only eligible one takes the role rather than leave it vacant")
    func heldLastResort() {
        var election = PrimaryElection(configuration: Self.configuration, now: at(ms: 0))
        _ = election.tick(now: at(ms: 400))
        _ = election.receivedHello(Self.hello(sequence: 1, role: .standby, term: 1), now: at(ms: 401))
        guard case .steppedDown = election.stepDown(now: at(ms: 402)) else {
            Issue.record("step-down refused")
            return
        }
        // gw-a never takes over and then dies; gw-b, although on hold, is the last one standing.
        #expect(election.tick(now: at(ms: 600)) == nil)
        let change = election.tick(now: at(ms: 801))
        #expect(change?.to == .primary)
        #expect(change?.reason == .noPrimary)
    }

    @Test("two primaries with equal terms resolve by priority, then by the lower name")
    func equalTerms() {
        var election = PrimaryElection(configuration: Self.configuration, now: at(ms: 0))
        _ = election.tick(now: at(ms: 400))
        #expect(election.role == .primary)
        // gw-c has the same term and priority but a higher name: gw-b stays.
        #expect(
            election.receivedHello(Self.hello("gw-c", sequence: 1, term: 1, priority: 100), now: at(ms: 401)) == nil)
        // gw-a has the same term and priority and a lower name: gw-b yields.
        let change = election.receivedHello(Self.hello("gw-a", sequence: 1, term: 1, priority: 100), now: at(ms: 402))
        #expect(change?.reason == .yielded(to: "gw-a", theirTerm: 1, ourTerm: 1))
    }

    @Test("reason sentences read as the audit log expects")
    func reasonText() {
        typealias Reason = PrimaryElection.Reason
        #expect(Reason.primarySilent("gw-x", .milliseconds(400)).description == "peer gw-x silent for 400ms")
        #expect(Reason.lanDown.description == "LAN down")
        #expect(Reason.steppedDown.description == "stepped down")
        #expect(
            Reason.preempted("gw-b", .seconds(5)).description
                == "higher priority preempted after delay: took the role from gw-b after 5s")
        #expect(
            Reason.yielded(to: "gw-b", theirTerm: 3, ourTerm: 2).description
                == "partition healed: lower term yields to gw-b (term 3 > 2)")
    }
}
