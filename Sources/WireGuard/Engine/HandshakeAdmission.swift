public import CryptoPrimitives
public import NetworkTypes

/// The gate every handshake message passes before the engine's peer state sees it (whitepaper §5.3):
/// length, mac1, then — under load — mac2 or a cookie reply, then the per-source rate limit; for an
/// initiation that passes, also the DH that decrypts the initiator's static key, which needs only our
/// identity. Nothing here touches peers or sessions, so the data plane runs it on its own thread, outside
/// the engine lock: a flood of handshake messages then costs that thread, not the packet threads.
/// Not safe for concurrent use.
public struct HandshakeAdmission {
    /// The identity messages are checked against; a new private key needs a new admission.
    public let identity: StaticIdentity
    private var checker: CookieChecker
    private var rateLimiter = HandshakeRateLimiter()
    /// Cookie replies per source, on the same budget as handshakes: a source that floods gets a cookie now
    /// and then, which is all a real initiator needs, and the flood stops costing a seal and a send each.
    private var cookieLimiter = HandshakeRateLimiter()
    // Under-load detection by rate: handshake messages with a valid mac1 counted per one-second window.
    private var windowStart: Instant?
    private var inWindow = 0
    private var underLoadUntil: Instant?

    public init(identity: StaticIdentity) {
        self.identity = identity
        self.checker = CookieChecker(identity: identity)
    }

    /// What to do with one handshake message.
    public enum Verdict {
        /// Passed: hand it to ``Engine/receive(_:from:now:)`` under the engine lock.
        case admitted(AdmittedHandshake)
        /// Under load without a valid mac2: send this cookie reply to the source, nothing else.
        case cookieReply([UInt8])
        /// Dropped before any peer state was touched.
        case refused(DropReason)
    }

    /// Checks one handshake-type datagram. `underLoad` is the caller's own load signal (a full queue, a
    /// forced state); the admission adds its rate-based one.
    public mutating func admit(
        _ datagram: UnsafeRawBufferPointer, from source: Endpoint, now: Instant, underLoad: Bool,
        random: any RandomSource
    ) -> Verdict {
        guard let type = MessageType.classify(datagram), type != .transportData else {
            return .refused(.unknownMessageType)
        }
        let message = Array(datagram)
        let senderIndex: UInt32
        switch type {
        case .handshakeInitiation:
            guard message.count == HandshakeInitiationLayout.size else { return .refused(.invalidLength) }
            senderIndex = message.littleEndianUInt32(at: HandshakeInitiationLayout.senderIndex)
        case .handshakeResponse:
            guard message.count == HandshakeResponseLayout.size else { return .refused(.invalidLength) }
            senderIndex = message.littleEndianUInt32(at: HandshakeResponseLayout.senderIndex)
        case .cookieReply:
            // No MACs: a cookie reply authenticates by its AEAD, bound to a mac1 only we sent.
            guard message.count == CookieReplyLayout.size else { return .refused(.invalidLength) }
            return .admitted(AdmittedHandshake(type: type, message: message, identityKey: identity.publicKey))
        case .transportData:
            return .refused(.unknownMessageType)
        }
        guard checker.isMAC1Valid(message) else { return .refused(.invalidMAC1) }
        if underLoad || isUnderLoad(now: now) {
            let sourceBytes = source.cookieSourceBytes
            // An all-zero mac2 claims no cookie (a real one is zero with probability 2^-128).
            let claimsCookie = message[(message.count - 16)...].contains { $0 != 0 }
            guard claimsCookie, checker.isMAC2Valid(message, source: sourceBytes, now: now, random: random) else {
                guard cookieLimiter.allow(source.address, now: now) else { return .refused(.rateLimited) }
                return .cookieReply(
                    checker.makeCookieReply(
                        to: message, receiverIndex: senderIndex, source: sourceBytes, now: now, random: random))
            }
            guard rateLimiter.allow(source.address, now: now) else { return .refused(.rateLimited) }
        }
        var admitted = AdmittedHandshake(type: type, message: message, identityKey: identity.publicKey)
        if type == .handshakeInitiation {
            guard let consumed = NoiseHandshake.consumeInitiation(message, identity: identity) else {
                return .refused(.handshakeDecryptionFailed)
            }
            admitted.consumed = consumed
        }
        return .admitted(admitted)
    }

    /// Counts handshake messages per second; above the threshold we are under load for a while.
    private mutating func isUnderLoad(now: Instant) -> Bool {
        if let start = windowStart, now.duration(since: start) < .seconds(1) {
            inWindow += 1
        } else {
            windowStart = now
            inWindow = 1
        }
        if inWindow > Implementation.underLoadHandshakesPerSecond {
            underLoadUntil = now + Implementation.underLoadAfterTime
        }
        if let until = underLoadUntil, now < until { return true }
        return false
    }
}

/// A handshake message that passed ``HandshakeAdmission``; an initiation carries its decrypted first half.
public struct AdmittedHandshake {
    let type: MessageType
    let message: [UInt8]
    /// The public key of the identity it was admitted under: if ours changed since, it is dropped.
    let identityKey: Key32
    var consumed: NoiseHandshake.ConsumedInitiation?

    /// Erases the decrypted key material (call when done, admitted or not).
    public mutating func wipe() { consumed?.wipe() }
}
