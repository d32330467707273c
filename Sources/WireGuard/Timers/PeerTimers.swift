/// A peer's protocol timers as deadlines, after the Linux kernel's `timers.c` (whitepaper §6).
///
/// Nothing here fires by itself: the engine's `tick(now:)` compares deadlines with the time it is given.
/// Each hook is named after the event it records and says when to call it.
struct PeerTimers {
    /// Retransmit our initiation if no response arrives (rekey-timeout plus jitter).
    var retransmitHandshakeAt: Instant?
    /// Send a passive keepalive if data arrived and we sent nothing back.
    var sendKeepaliveAt: Instant?
    /// Start a new handshake if we sent data and heard nothing back.
    var newHandshakeAt: Instant?
    /// Erase all key material after a long silence (3 × reject-after-time).
    var zeroKeyMaterialAt: Instant?
    /// The next persistent keepalive, when configured.
    var persistentKeepaliveAt: Instant?
    /// A keepalive was requested while one was already pending.
    var needAnotherKeepalive = false
    /// Retransmissions of the current handshake so far.
    var handshakeAttempts = 0

    /// Call after an authenticated data packet (not a keepalive) is sent.
    mutating func dataSent(at now: Instant, jitter: Duration) {
        if newHandshakeAt == nil {
            newHandshakeAt = now + Specification.keepaliveTimeout + Specification.rekeyTimeout + jitter
        }
    }

    /// Call after an authenticated data packet (not a keepalive) is received.
    mutating func dataReceived(at now: Instant) {
        if sendKeepaliveAt == nil {
            sendKeepaliveAt = now + Specification.keepaliveTimeout
        } else {
            needAnotherKeepalive = true
        }
    }

    /// Call after any authenticated packet (data, keepalive or handshake) is sent.
    mutating func anyAuthenticatedPacketSent() {
        sendKeepaliveAt = nil
    }

    /// Call after any authenticated packet is received.
    mutating func anyAuthenticatedPacketReceived() {
        newHandshakeAt = nil
    }

    /// Call after any authenticated packet is sent or received.
    mutating func anyAuthenticatedPacketTraversal(at now: Instant, persistentKeepaliveInterval: UInt16) {
        if persistentKeepaliveInterval > 0 {
            persistentKeepaliveAt = now + .seconds(Int(persistentKeepaliveInterval))
        }
    }

    /// Call after a handshake initiation is sent.
    mutating func handshakeInitiated(at now: Instant, jitter: Duration) {
        retransmitHandshakeAt = now + Specification.rekeyTimeout + jitter
    }

    /// Call after a handshake completes (response consumed, or the responder's session confirmed).
    mutating func handshakeComplete() {
        retransmitHandshakeAt = nil
        handshakeAttempts = 0
    }

    /// Call after new transport keys are derived.
    mutating func sessionDerived(at now: Instant) {
        zeroKeyMaterialAt = now + Specification.rejectAfterTime * 3
    }

    /// The earliest pending deadline, so a driver can sleep until then.
    var nextDeadline: Instant? {
        [retransmitHandshakeAt, sendKeepaliveAt, newHandshakeAt, zeroKeyMaterialAt, persistentKeepaliveAt]
            .compactMap { $0 }.min()
    }
}
