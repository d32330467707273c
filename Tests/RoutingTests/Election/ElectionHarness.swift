import Routing

/// A small HA group on a simulated network, stepped with a manual clock: each live member sends a hello
/// every hello interval (and at once after a role change), hellos arrive after `latency` unless the
/// link is cut, and every member is ticked at every step. Killing a member freezes it; reviving it
/// starts a fresh `PrimaryElection`, as a restarted daemon would.
struct ElectionHarness {
    struct Member {
        var election: PrimaryElection
        var alive = true
        var nextHello: Timestamp
    }

    struct LoggedChange: CustomStringConvertible {
        var member: String
        var change: PrimaryElection.RoleChange

        var description: String { "\(change.at) \(member): \(change)" }
    }

    private struct InFlight {
        var deliverAt: Timestamp
        var to: String
        var hello: Advertisement.Hello
    }

    let helloInterval: Duration
    let latency: Duration
    let step: Duration
    private(set) var now: Timestamp
    private(set) var members: [String: Member] = [:]
    private(set) var log: [LoggedChange] = []
    private var inFlight: [InFlight] = []
    private var cut: Set<[String]> = []
    /// One sequence counter per gateway that survives restarts, as the wall-clock-seeded daemon's does.
    private var sequences: [String: UInt64] = [:]
    /// The chance that any one hello is lost, drawn from a seeded generator.
    var lossRate = 0.0
    private var lossGenerator = SeededGenerator(seed: 0x1055)

    init(
        _ configurations: [PrimaryElection.Configuration], start: Timestamp = at(ms: 1000),
        helloInterval: Duration = .milliseconds(100), latency: Duration = .milliseconds(1),
        step: Duration = .milliseconds(1)
    ) {
        self.helloInterval = helloInterval
        self.latency = latency
        self.step = step
        self.now = start
        let names = Set(configurations.map(\.name))
        for var configuration in configurations {
            // The harness's members are the whole group, as the shared peer list would declare them.
            configuration.members = names
            members[configuration.name] = Member(
                election: PrimaryElection(configuration: configuration, now: start), nextHello: start)
        }
    }

    var names: [String] { members.keys.sorted() }

    func role(_ name: String) -> PrimaryElection.Role? {
        members[name]?.election.role
    }

    func election(_ name: String) -> PrimaryElection? {
        members[name]?.election
    }

    /// Live members claiming primary, sorted.
    var primaries: [String] {
        names.filter { members[$0]?.alive == true && members[$0]?.election.role == .primary }
    }

    /// Each live member's view of the primary (`nil` for none).
    var views: [String: String?] {
        var result: [String: String?] = [:]
        for name in names where members[name]?.alive == true {
            result[name] = members[name]?.election.currentPrimary(now: now)?.gateway
        }
        return result
    }

    func changes(of name: String) -> [PrimaryElection.RoleChange] {
        log.filter { $0.member == name }.map(\.change)
    }

    func changes(after time: Timestamp) -> [LoggedChange] {
        log.filter { $0.change.at > time }
    }

    // MARK: - Events

    mutating func kill(_ name: String) {
        members[name]?.alive = false
        inFlight.removeAll { $0.to == name }
    }

    mutating func revive(_ name: String) {
        guard var member = members[name] else { return }
        member.election = PrimaryElection(configuration: member.election.configuration, now: now)
        member.alive = true
        member.nextHello = now
        members[name] = member
    }

    /// Cuts both directions between `a` and `b`.
    mutating func cut(_ a: String, _ b: String) {
        cut.insert([a, b])
        cut.insert([b, a])
    }

    mutating func healAll() {
        cut.removeAll()
    }

    mutating func setLAN(_ name: String, healthy: Bool) {
        guard var member = members[name], member.alive else { return }
        let change = member.election.lanHealth(healthy, now: now)
        members[name] = member
        record(name, change)
    }

    mutating func stepDown(_ name: String) -> PrimaryElection.StepDownOutcome? {
        guard var member = members[name], member.alive else { return nil }
        let outcome = member.election.stepDown(now: now)
        members[name] = member
        if case .steppedDown(let change) = outcome { record(name, change) }
        return outcome
    }

    // MARK: - Running

    mutating func run(for duration: Duration) {
        let end = now + duration
        while now < end { advance() }
    }

    /// Runs until `condition` holds (checked after every step) or `limit` passes; returns whether it held.
    @discardableResult
    mutating func run(until limit: Duration, _ condition: (ElectionHarness) -> Bool) -> Bool {
        let end = now + limit
        while now < end {
            advance()
            if condition(self) { return true }
        }
        return false
    }

    private mutating func advance() {
        now = now + step
        let due = inFlight.filter { $0.deliverAt <= now }
        inFlight.removeAll { $0.deliverAt <= now }
        for message in due {
            guard var member = members[message.to], member.alive else { continue }
            let change = member.election.receivedHello(message.hello, now: now)
            members[message.to] = member
            record(message.to, change)
        }
        for name in names {
            guard var member = members[name], member.alive else { continue }
            let change = member.election.tick(now: now)
            members[name] = member
            record(name, change)
            if let member = members[name], member.nextHello <= now { sendHello(from: name) }
        }
    }

    private mutating func record(_ name: String, _ change: PrimaryElection.RoleChange?) {
        guard let change else { return }
        log.append(LoggedChange(member: name, change: change))
        sendHello(from: name)
    }

    private mutating func sendHello(from name: String) {
        guard var member = members[name], member.alive else { return }
        let sequence = (sequences[name] ?? 0) + 1
        sequences[name] = sequence
        let hello = member.election.makeHello(sequence: sequence, now: now)
        member.nextHello = now + helloInterval
        members[name] = member
        for other in names where other != name && !cut.contains([name, other]) {
            if lossRate > 0 && Double.random(in: 0..<1, using: &lossGenerator) < lossRate { continue }
            inFlight.append(InFlight(deliverAt: now + latency, to: other, hello: hello))
        }
    }
}

extension PrimaryElection.Configuration {
    static func member(
        _ name: String, priority: UInt8, preempt: Bool = false, preemptDelay: Duration = .zero,
        stepDownHold: Duration = .seconds(10)
    ) -> Self {
        Self(
            name: name, group: "nyc1", members: [], priority: priority, preempt: preempt, preemptDelay: preemptDelay,
            deadInterval: .milliseconds(400), stepDownHold: stepDownHold)
    }
}
