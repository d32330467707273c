import Routing
import Testing

@Suite("Primary election scenarios")
struct PrimaryElectionScenarioTests {
    /// Two members, gw-a preferred, run until the group has settled on gw-a.
    static func settledPair(
        preempt: Bool = false, preemptDelay: Duration = .zero, stepDownHold: Duration = .seconds(10)
    ) -> ElectionHarness {
        var harness = ElectionHarness([
            .member("gw-a", priority: 200, preempt: preempt, preemptDelay: preemptDelay, stepDownHold: stepDownHold),
            .member("gw-b", priority: 100, preempt: preempt, preemptDelay: preemptDelay, stepDownHold: stepDownHold),
        ])
        harness.run(for: .seconds(1))
        return harness
    }

    @Test("primary dies → standby takes over after dead_interval")
    func primaryDies() throws {
        var harness = Self.settledPair()
        #expect(harness.primaries == ["gw-a"])
        let lastHello = harness.now
        harness.kill("gw-a")
        let tookOver = harness.run(until: .seconds(2)) { $0.role("gw-b") == .primary }
        #expect(tookOver)
        let change = try #require(harness.changes(of: "gw-b").last)
        // gw-a's last hello was sent at most one hello interval before the kill.
        let sinceKill = change.at.duration(since: lastHello)
        // Dead interval after the last hello, plus one network latency and one step of the harness.
        #expect(sinceKill >= .milliseconds(300) && sinceKill <= .milliseconds(402), "took over \(sinceKill) after kill")
        #expect(change.term == 2)
        guard case .primarySilent("gw-a", let silence) = change.reason else {
            Issue.record("unexpected reason \(change.reason)")
            return
        }
        #expect(silence == .milliseconds(400))
        #expect(change.reason.description == "peer gw-a silent for 400ms")
    }

    @Test(
        "both start at once → the higher priority, then the lower name, wins and the other stays standby",
        arguments: [
            (200, 100, "gw-a"), (100, 200, "gw-b"), (150, 150, "gw-a"),
        ] as [(UInt8, UInt8, String)]
    )
    func simultaneousStart(priorityA: UInt8, priorityB: UInt8, winner: String) {
        var harness = ElectionHarness([
            .member("gw-a", priority: priorityA), .member("gw-b", priority: priorityB),
        ])
        harness.run(for: .seconds(3))
        #expect(harness.primaries == [winner])
        // The loser never held the role, even briefly, and the winner took it exactly once.
        let loser = winner == "gw-a" ? "gw-b" : "gw-a"
        #expect(harness.changes(of: loser).isEmpty)
        #expect(harness.changes(of: winner).count == 1)
        #expect(harness.changes(of: winner).first?.reason == .noPrimary)
        #expect(harness.views == ["gw-a": winner, "gw-b": winner])
    }

    @Test("a recovered higher-priority member does not preempt by default")
    func noPreemptionByDefault() {
        var harness = Self.settledPair()
        harness.kill("gw-a")
        harness.run(for: .seconds(1))
        #expect(harness.primaries == ["gw-b"])
        let revived = harness.now
        harness.revive("gw-a")
        harness.run(for: .seconds(10))
        #expect(harness.primaries == ["gw-b"])
        #expect(harness.changes(after: revived).isEmpty)
        #expect(harness.views == ["gw-a": "gw-b", "gw-b": "gw-b"])
    }

    @Test("a recovered higher-priority member preempts after preempt_delay when preempt is on")
    func preemptionAfterDelay() throws {
        var harness = Self.settledPair(preempt: true, preemptDelay: .seconds(2))
        harness.kill("gw-a")
        harness.run(for: .seconds(1))
        #expect(harness.primaries == ["gw-b"])
        let revived = harness.now
        harness.revive("gw-a")
        harness.run(for: .seconds(1))
        #expect(harness.primaries == ["gw-b"], "must wait for the delay")
        harness.run(for: .seconds(2))
        #expect(harness.primaries == ["gw-a"])
        let takeover = try #require(harness.changes(of: "gw-a").last)
        #expect(takeover.reason == .preempted("gw-b", .seconds(2)))
        // Eligibility starts when gw-a hears gw-b's first hello (at most one hello interval after start).
        let waited = takeover.at.duration(since: revived)
        #expect(waited >= .seconds(2) && waited <= .milliseconds(2110), "preempted \(waited) after revival")
        let yielded = try #require(harness.changes(of: "gw-b").last)
        #expect(yielded.to == .standby)
        #expect(yielded.reason == .yielded(to: "gw-a", theirTerm: 3, ourTerm: 2))
        harness.run(for: .seconds(5))
        #expect(harness.primaries == ["gw-a"])
        #expect(harness.changes(after: takeover.at + .milliseconds(10)).isEmpty, "no flapping")
    }

    @Test("LAN down on the primary → the standby takes over at once; LAN back → no flap")
    func lanDown() throws {
        var harness = Self.settledPair()
        let downAt = harness.now
        harness.setLAN("gw-a", healthy: false)
        #expect(harness.role("gw-a") == .standby)
        #expect(harness.changes(of: "gw-a").last?.reason == .lanDown)
        harness.run(until: .seconds(1)) { $0.role("gw-b") == .primary }
        let takeover = try #require(harness.changes(of: "gw-b").last)
        #expect(takeover.reason == .primaryLostLAN("gw-a"))
        #expect(takeover.at.duration(since: downAt) <= .milliseconds(2), "one network latency, not a dead interval")

        let upAt = harness.now
        harness.setLAN("gw-a", healthy: true)
        harness.run(for: .seconds(10))
        #expect(harness.primaries == ["gw-b"])
        #expect(harness.changes(after: upAt).isEmpty)
    }

    @Test("a standby with its LAN down never takes the role")
    func ineligibleStandby() {
        var harness = Self.settledPair()
        harness.setLAN("gw-b", healthy: false)
        harness.kill("gw-a")
        harness.run(for: .seconds(3))
        #expect(harness.primaries.isEmpty)
        harness.setLAN("gw-b", healthy: true)
        #expect(harness.primaries == ["gw-b"])
    }

    @Test("partition: both become primary; when it heals exactly one remains")
    func partition() throws {
        var harness = Self.settledPair()
        harness.cut("gw-a", "gw-b")
        harness.run(for: .seconds(1))
        #expect(harness.primaries == ["gw-a", "gw-b"])
        #expect(harness.election("gw-b")?.term == 2)

        let healedAt = harness.now
        harness.healAll()
        let converged = harness.run(until: .milliseconds(300)) { $0.primaries.count == 1 }
        #expect(converged)
        // The newer term wins: gw-b keeps the role, so traffic already moved does not move again.
        #expect(harness.primaries == ["gw-b"])
        let yielded = try #require(harness.changes(of: "gw-a").last)
        #expect(yielded.reason == .yielded(to: "gw-b", theirTerm: 2, ourTerm: 1))
        #expect(yielded.reason.description.hasPrefix("partition healed: lower term yields to gw-b"))
        harness.run(for: .seconds(5))
        #expect(harness.primaries == ["gw-b"])
        #expect(harness.changes(after: healedAt).count == 1)
        #expect(harness.views == ["gw-a": "gw-b", "gw-b": "gw-b"])
    }

    @Test("planned step-down hands over within one hello interval and the old primary does not take it back")
    func plannedStepDown() throws {
        // Preemption on, so only the hold keeps gw-a (higher priority) from taking the role back.
        var harness = Self.settledPair(preempt: true, stepDownHold: .seconds(10))
        let outcome = harness.stepDown("gw-a")
        guard case .steppedDown(let change) = outcome else {
            Issue.record("step-down refused: \(String(describing: outcome))")
            return
        }
        #expect(change.reason == .steppedDown)
        let handedOver = harness.run(until: .milliseconds(100)) { $0.role("gw-b") == .primary }
        #expect(handedOver)
        let takeover = try #require(harness.changes(of: "gw-b").last)
        #expect(takeover.reason == .primarySteppedDown("gw-a"))
        #expect(takeover.at.duration(since: change.at) <= .milliseconds(2))
        #expect(harness.election("gw-a")?.isHeld(now: harness.now) == true)

        harness.run(for: .seconds(9))
        #expect(harness.primaries == ["gw-b"], "gw-a must not take the role back during its hold")
        #expect(harness.changes(after: takeover.at).isEmpty)
    }

    @Test("a drill's restore step hands the role back although the first member's hold is still running")
    func drillRestore() {
        var harness = Self.settledPair()
        _ = harness.stepDown("gw-a")
        harness.run(for: .milliseconds(500))
        #expect(harness.primaries == ["gw-b"])
        _ = harness.stepDown("gw-b")
        let restored = harness.run(until: .milliseconds(100)) { $0.role("gw-a") == .primary }
        #expect(restored)
        harness.run(for: .seconds(3))
        #expect(harness.primaries == ["gw-a"])
    }

    @Test("step-down is refused when no other member could take over")
    func stepDownRefused() {
        var harness = Self.settledPair()
        harness.kill("gw-b")
        harness.run(for: .seconds(1))
        #expect(harness.stepDown("gw-a") == .noEligibleStandby)
        #expect(harness.primaries == ["gw-a"])
        #expect(harness.stepDown("gw-b") == nil)
        var standby = Self.settledPair()
        #expect(standby.stepDown("gw-b") == .notPrimary)
    }

    @Test("a restarted primary's group recovers to a single primary without a dead interval of vacancy on both")
    func restartedPrimary() {
        var harness = Self.settledPair()
        harness.kill("gw-a")
        harness.run(for: .milliseconds(150))
        harness.revive("gw-a")
        harness.run(for: .seconds(3))
        #expect(harness.primaries.count == 1)
        #expect(harness.views.values.allSatisfy { $0 == harness.primaries.first })
    }

    @Test("with three members, the best remaining member takes over and the third stays standby")
    func threeMembers() throws {
        var harness = ElectionHarness([
            .member("gw-a", priority: 200), .member("gw-b", priority: 150), .member("gw-c", priority: 100),
        ])
        harness.run(for: .seconds(1))
        #expect(harness.primaries == ["gw-a"])
        harness.kill("gw-a")
        harness.run(for: .seconds(2))
        #expect(harness.primaries == ["gw-b"])
        #expect(harness.changes(of: "gw-c").isEmpty)
        _ = harness.stepDown("gw-b")
        harness.run(for: .milliseconds(100))
        #expect(harness.primaries == ["gw-c"])
        #expect(harness.changes(of: "gw-c").last?.reason == .primarySteppedDown("gw-b"))
    }
}
