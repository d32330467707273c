import Testing

@testable import WireGuard

/// The timer hooks of ``PeerTimers``, one event at a time (the kernel's timers.c contract).
@Suite("Peer timer hooks")
struct PeerTimersTests {
    static let t0 = Instant(nanoseconds: 50_000_000_000)

    @Test("dataSent arms the new-handshake timer once, at keepalive + rekey timeout + jitter")
    func dataSent() {
        var timers = PeerTimers()
        timers.dataSent(at: Self.t0, jitter: .milliseconds(123))
        let expected = Self.t0 + Specification.keepaliveTimeout + Specification.rekeyTimeout + .milliseconds(123)
        #expect(timers.newHandshakeAt == expected)
        timers.dataSent(at: Self.t0 + .seconds(3), jitter: .zero)
        #expect(timers.newHandshakeAt == expected, "later data does not push it back")
        timers.anyAuthenticatedPacketReceived()
        #expect(timers.newHandshakeAt == nil)
    }

    @Test("dataReceived arms the keepalive timer, or asks for another if it is already armed")
    func dataReceived() {
        var timers = PeerTimers()
        timers.dataReceived(at: Self.t0)
        #expect(timers.sendKeepaliveAt == Self.t0 + Specification.keepaliveTimeout)
        #expect(!timers.needAnotherKeepalive)
        timers.dataReceived(at: Self.t0 + .seconds(1))
        #expect(timers.sendKeepaliveAt == Self.t0 + Specification.keepaliveTimeout)
        #expect(timers.needAnotherKeepalive)
        timers.anyAuthenticatedPacketSent()
        #expect(timers.sendKeepaliveAt == nil)
    }

    @Test("traversal re-arms the persistent keepalive only when an interval is configured")
    func traversal() {
        var timers = PeerTimers()
        timers.anyAuthenticatedPacketTraversal(at: Self.t0, persistentKeepaliveInterval: 0)
        #expect(timers.persistentKeepaliveAt == nil)
        timers.anyAuthenticatedPacketTraversal(at: Self.t0, persistentKeepaliveInterval: 25)
        #expect(timers.persistentKeepaliveAt == Self.t0 + .seconds(25))
        timers.anyAuthenticatedPacketTraversal(at: Self.t0 + .seconds(7), persistentKeepaliveInterval: 25)
        #expect(timers.persistentKeepaliveAt == Self.t0 + .seconds(32))
    }

    @Test("an initiation arms the retransmission; completion clears it and the attempt count")
    func handshake() {
        var timers = PeerTimers()
        timers.handshakeInitiated(at: Self.t0, jitter: .milliseconds(9))
        #expect(timers.retransmitHandshakeAt == Self.t0 + Specification.rekeyTimeout + .milliseconds(9))
        timers.handshakeAttempts = 4
        timers.handshakeComplete()
        #expect(timers.retransmitHandshakeAt == nil)
        #expect(timers.handshakeAttempts == 0)
    }

    @Test("new session keys schedule erasure at 3 × rejectAfterTime, and the latest session wins")
    func sessionDerived() {
        var timers = PeerTimers()
        timers.sessionDerived(at: Self.t0)
        #expect(timers.zeroKeyMaterialAt == Self.t0 + Specification.rejectAfterTime * 3)
        timers.sessionDerived(at: Self.t0 + .seconds(60))
        #expect(timers.zeroKeyMaterialAt == Self.t0 + .seconds(60) + Specification.rejectAfterTime * 3)
    }

    @Test("nextDeadline is the earliest armed timer, nil when none is")
    func nextDeadline() {
        var timers = PeerTimers()
        #expect(timers.nextDeadline == nil)
        timers.sessionDerived(at: Self.t0)
        #expect(timers.nextDeadline == timers.zeroKeyMaterialAt)
        timers.dataSent(at: Self.t0, jitter: .zero)
        #expect(timers.nextDeadline == timers.newHandshakeAt)
        timers.dataReceived(at: Self.t0)
        #expect(timers.nextDeadline == Self.t0 + Specification.keepaliveTimeout)
        timers.handshakeInitiated(at: Self.t0, jitter: .zero)
        #expect(timers.nextDeadline == Self.t0 + Specification.rekeyTimeout)
        timers.anyAuthenticatedPacketTraversal(at: Self.t0, persistentKeepaliveInterval: 1)
        #expect(timers.nextDeadline == Self.t0 + .seconds(1))
    }
}
