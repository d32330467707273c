import Routing
import Testing

/// Regressions for issue 8, item 1: a single peer crashed both members of a group with a hello whose
/// term was 2^63 (the daemon's `Int(term)`) or 2^64 − 1 (the standby's `term + 1`).
@Suite("Hostile terms")
struct HostileTermTests {
    static let configuration = PrimaryElection.Configuration(
        name: "gw-b", group: "nyc1", members: ["gw-a", "gw-b"], priority: 100)

    static func helloBytes(term: UInt64, role: PrimaryElection.Role = .primary) -> [UInt8] {
        // Encoded by hand: the encoder itself is only for valid values.
        var bytes: [UInt8] = [1, 1, 0, 0, 0, 0, 0, 0, 0, 7, 4] + Array("gw-a".utf8)
        bytes += [4] + Array("nyc1".utf8) + [200, role.rawValue, 1]
        bytes += (0..<8).map { UInt8(truncatingIfNeeded: term >> (56 - 8 * $0)) }
        return bytes
    }

    @Test(
        "a hello whose term is above 2^53 is refused by the decoder and labelled",
        arguments: [Advertisement.maximumTerm + 1, 1 << 63, UInt64.max])
    func helloTermRefused(term: UInt64) {
        let result = Advertisement.decode(Self.helloBytes(term: term))
        #expect(result == .failure(.termOutOfRange(field: "term", term)))
        if case .failure(let error) = result {
            #expect(error.label == "term_out_of_range")
            #expect(error.description.contains("\(term)"))
        }
    }

    @Test("a hello at exactly the largest term decodes")
    func helloTermAtCeiling() throws {
        let message = try Advertisement.decode(Self.helloBytes(term: Advertisement.maximumTerm)).get()
        guard case .hello(let hello) = message else {
            Issue.record("expected a hello")
            return
        }
        #expect(hello.term == Advertisement.maximumTerm)
    }

    @Test("a routes group record whose term is above 2^53 is refused")
    func groupTermRefused() {
        var bytes: [UInt8] = [1, 2, 0, 0, 0, 0, 0, 0, 0, 7, 4] + Array("gw-a".utf8)
        bytes += [1, 4] + Array("nyc1".utf8) + [200, 0] + Array(repeating: 0xFF, count: 8) + [0, 0]
        #expect(Advertisement.decode(bytes) == .failure(.termOutOfRange(field: "group.term", .max)))
    }

    @Test("a standby that hears a primary at the largest term takes over at that term without trapping")
    func standbyAtCeiling() {
        var election = PrimaryElection(configuration: Self.configuration, now: at(ms: 0))
        let hello = Advertisement.Hello(
            sender: "gw-a", sequence: 1, group: "nyc1", priority: 200, role: .primary,
            term: Advertisement.maximumTerm, lanHealthy: true, held: false)
        #expect(election.receivedHello(hello, now: at(ms: 1)) == nil)
        let change = election.tick(now: at(ms: 401))
        #expect(change?.to == .primary)
        #expect(change?.term == Advertisement.maximumTerm)
        // What it now sends is still a valid message.
        let sent = Advertisement.hello(election.makeHello(sequence: 2, now: at(ms: 401)))
        #expect(Advertisement.decode(sent.encode()) == .success(sent))
    }

    @Test(
        "a hello handed to the election directly with an out-of-range term is ignored",
        arguments: [UInt64.max, 1 << 63])
    func electionIgnoresHugeTerm(term: UInt64) {
        var election = PrimaryElection(configuration: Self.configuration, now: at(ms: 0))
        let hello = Advertisement.Hello(
            sender: "gw-a", sequence: 1, group: "nyc1", priority: 200, role: .primary, term: term,
            lanHealthy: true, held: false)
        #expect(election.receivedHello(hello, now: at(ms: 1)) == nil)
        #expect(election.members(now: at(ms: 1)).count == 1)
        #expect(election.tick(now: at(ms: 400))?.term == 1)
    }

    @Test("at the ceiling two claims of equal term still order by priority and name: one primary remains")
    func equalTermsAtCeiling() {
        var election = PrimaryElection(configuration: Self.configuration, now: at(ms: 0))
        let ceiling = Advertisement.maximumTerm
        let rival = Advertisement.Hello(
            sender: "gw-a", sequence: 1, group: "nyc1", priority: 200, role: .primary, term: ceiling,
            lanHealthy: true, held: false)
        _ = election.receivedHello(rival, now: at(ms: 1))
        _ = election.tick(now: at(ms: 401))  // gw-a silent: gw-b claims at the ceiling
        #expect(election.role == .primary)
        var back = rival
        back.sequence = 2
        let change = election.receivedHello(back, now: at(ms: 420))
        #expect(change?.to == .standby)  // gw-a has the higher priority at the same term
    }
}
