import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

/// Direct-link liveness by demand (``Engine/livenessRound(of:pollAfter:now:)``): nothing through an idle
/// tunnel, an answer to what came, a poll when an answer is late.
@Suite("Engine liveness rounds")
struct LivenessTests {
    static let pollAfter = Duration.milliseconds(350)

    func round(_ pair: EnginePair, _ side: EnginePair.Side) -> LinkActivity? {
        let engine = pair.engine(side)
        let key = side == .a ? pair.publicKeyB : pair.publicKeyA
        let activity = engine.livenessRound(of: [key], pollAfter: Self.pollAfter, now: pair.clock.now)
        pair.collectOutboxes()
        return activity[key]
    }

    @Test("an idle tunnel gets nothing from a round; data is answered by one keepalive at the next round")
    func idleAndAnswer() throws {
        let pair = EnginePair()
        pair.establishSession()
        pair.clock.advance(by: .seconds(1))
        _ = round(pair, .a)
        _ = round(pair, .b)
        #expect(pair.inFlight.isEmpty, "nothing owed, nothing waiting: nothing sent")

        let packet = pair.makePacket(from: .a)
        pair.send(packet, from: .a)
        pair.clock.advance(by: .milliseconds(100))
        let waiting = try #require(round(pair, .a))
        #expect(waiting.unansweredFor == .milliseconds(100))
        #expect(pair.pump() == [.delivered(packet)])

        // B owes an answer: its next round sends one keepalive, which clears A's doubt.
        _ = round(pair, .b)
        #expect(pair.inFlight.count == 1 && pair.inFlight[0].isKeepalive)
        #expect(pair.pump() == [.keepalive])
        let answered = try #require(round(pair, .a))
        #expect(answered.unansweredFor == nil)
        #expect(answered.sinceHeard == .zero)
        _ = round(pair, .b)
        #expect(pair.inFlight.isEmpty, "a keepalive is never answered: no ping-pong")
    }

    @Test("an answer that is late is polled for; the poll is answered and counts as no drop")
    func pollWhenLate() throws {
        let pair = EnginePair()
        pair.establishSession()
        pair.send(pair.makePacket(from: .a), from: .a)
        pair.pump()
        // B's answer is lost.
        _ = round(pair, .b)
        pair.inFlight.removeAll()
        pair.clock.advance(by: .milliseconds(200))
        _ = round(pair, .a)
        #expect(pair.inFlight.isEmpty, "not late yet")
        pair.clock.advance(by: .milliseconds(200))
        let late = try #require(round(pair, .a))
        #expect(late.unansweredFor == .milliseconds(400))
        let poll = try #require(pair.inFlight.first)
        #expect(poll.isTransport && poll.bytes.count == 32 + Implementation.pollPlaintextLength)
        #expect(pair.pump() == [.keepalive])
        #expect(nonZeroDrops(pair.b).isEmpty)
        _ = round(pair, .b)
        #expect(pair.pump() == [.keepalive], "B answers the poll")
        #expect(try #require(round(pair, .a)).unansweredFor == nil)
    }

    @Test("through a dead link the doubt grows round after round, one poll each")
    func deadLink() throws {
        let pair = EnginePair()
        pair.establishSession()
        pair.send(pair.makePacket(from: .a), from: .a)
        pair.inFlight.removeAll()
        var polls = 0
        for _ in 0..<5 {
            pair.clock.advance(by: .milliseconds(200))
            _ = round(pair, .a)
            polls += pair.inFlight.count
            pair.inFlight.removeAll()
        }
        #expect(polls == 4, "from the round at 400 ms on")
        #expect(try #require(round(pair, .a)).unansweredFor == .seconds(1))
    }
}
