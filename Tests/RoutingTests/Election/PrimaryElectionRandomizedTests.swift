import Routing
import Testing

@Suite("Primary election under random failures")
struct PrimaryElectionRandomizedTests {
    @Test(
        "after each quiet period exactly one healthy primary exists and all members agree",
        arguments: [
            (1 as UInt64, false), (2, false), (3, true), (4, true), (5, false), (6, true), (0x5eed, false),
            (0xfeed, true),
        ]
    )
    func randomFailures(seed: UInt64, preempt: Bool) {
        var generator = SeededGenerator(seed: seed)
        let members: [PrimaryElection.Configuration] = [
            .member(
                "gw-a", priority: 200, preempt: preempt, preemptDelay: .milliseconds(500), stepDownHold: .seconds(1)),
            .member(
                "gw-b", priority: 150, preempt: preempt, preemptDelay: .milliseconds(500), stepDownHold: .seconds(1)),
            .member(
                "gw-c", priority: 150, preempt: preempt, preemptDelay: .milliseconds(500), stepDownHold: .seconds(1)),
        ]
        var harness = ElectionHarness(members, step: .milliseconds(5))
        var alive: Set<String> = ["gw-a", "gw-b", "gw-c"]
        var lan: [String: Bool] = ["gw-a": true, "gw-b": true, "gw-c": true]
        var events: [String] = []
        var roundsWithPrimary = 0

        for round in 0..<60 {
            // Chaos: a few random events aimed mostly at the current primary, spread over up to 2 s,
            // with 10% of hellos lost.
            harness.lossRate = 0.1
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let primary = harness.primaries.randomElement(using: &generator)
                let anyone = harness.names.randomElement(using: &generator) ?? "gw-a"
                let target = Bool.random(using: &generator) ? (primary ?? anyone) : anyone
                let other = harness.names.filter { $0 != target }.randomElement(using: &generator) ?? "gw-b"
                switch Int.random(in: 0..<6, using: &generator) {
                case 0:
                    harness.kill(target)
                    alive.remove(target)
                    events.append("kill \(target)")
                case 1:
                    let dead = harness.names.filter { !alive.contains($0) }
                    let name = dead.randomElement(using: &generator) ?? target
                    harness.revive(name)  // a restart when it was alive
                    alive.insert(name)
                    lan[name] = true
                    events.append("revive \(name)")
                case 2:
                    harness.cut(target, other)
                    events.append("cut \(target)-\(other)")
                case 3:
                    guard alive.contains(target) else { continue }
                    let healthy = !(lan[target] ?? true)
                    lan[target] = healthy
                    harness.setLAN(target, healthy: healthy)
                    events.append("lan \(target) \(healthy ? "up" : "down")")
                case 4:
                    _ = harness.stepDown(target)
                    events.append("step-down \(target)")
                default:
                    harness.healAll()
                    events.append("heal")
                }
                harness.run(for: .milliseconds(Int64.random(in: 0...500, using: &generator)))
            }
            // Quiet: the network heals, some dead members restart, and nothing else happens for long
            // enough to settle (start-up, vacancy timeout, hold and preemption delay all fit in 3 s).
            harness.healAll()
            harness.lossRate = 0
            for name in harness.names where !alive.contains(name) && Bool.random(using: &generator) {
                harness.revive(name)
                alive.insert(name)
                lan[name] = true
                events.append("revive \(name)")
            }
            harness.run(for: .seconds(3))

            let eligible = alive.filter { lan[$0] == true }
            let primaries = harness.primaries
            let context = "seed \(seed) round \(round): \(events.suffix(8))"
            if eligible.isEmpty {
                #expect(primaries.isEmpty, "\(context)")
            } else {
                roundsWithPrimary += 1
                #expect(primaries.count == 1, "\(context): primaries \(primaries)")
                if let primary = primaries.first {
                    #expect(lan[primary] == true, "\(context): primary \(primary) has no LAN")
                    #expect(harness.views.count == alive.count, "\(context)")
                    for (member, view) in harness.views {
                        #expect(view == primary, "\(context): \(member) sees \(String(describing: view))")
                    }
                }
            }
            // A settled group stays settled.
            let settledAt = harness.now
            harness.run(for: .seconds(1))
            #expect(harness.changes(after: settledAt).isEmpty, "\(context): flapped while quiet")
        }
        // The run must have exercised the election, not idled.
        #expect(harness.log.count >= 40, "only \(harness.log.count) role changes")
        #expect(roundsWithPrimary >= 40, "only \(roundsWithPrimary) rounds with an eligible member")
    }
}
