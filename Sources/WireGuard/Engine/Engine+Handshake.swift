import CryptoPrimitives
public import NetworkTypes

// MARK: - Handshake messages (whitepaper §5.4.2-§5.4.7)

extension Engine {
    /// Sends a new initiation to `peer` unless one went out less than rekey-timeout ago (for a non-retry).
    func initiateHandshake(with peer: Peer, now: Moment, isRetry: Bool) {
        guard let identity, let staticStatic = peer.staticStatic else { return }
        if !isRetry {
            if let last = peer.lastInitiationSentAt,
                now.monotonic.duration(since: last) < Specification.rekeyTimeout
            {
                return
            }
            peer.timers.handshakeAttempts = 0
        }
        peer.resentWithCookie = false
        if let old = peer.initiator {
            indexTable.removeValue(forKey: old.localIndex)
            peer.initiator?.wipe()
            peer.initiator = nil
        }
        let localIndex = newLocalIndex()
        var ephemeral = X25519.generatePrivateKey(using: random)
        defer { ephemeral.wipe() }
        guard
            var (message, state) = NoiseHandshake.createInitiation(
                identity: identity, responderStatic: peer.publicKey, staticStatic: staticStatic,
                localIndex: localIndex, ephemeralPrivate: ephemeral,
                timestamp: nextInitiationTimestamp(now.wall, for: peer))
        else { return }
        peer.cookieGenerator.addMACs(to: &message, now: now.monotonic)
        peer.initiator = state
        state.wipe()
        indexTable[localIndex] = .handshake(peer)
        peer.lastInitiationSentAt = now.monotonic
        peer.timers.handshakeInitiated(at: now.monotonic, jitter: jitter())
        events.append(.initiationSent(peer: peer.publicKey, retry: isRetry))
        guard let endpoint = peer.endpoint else { return }
        emit(message, to: endpoint, for: peer, now: now.monotonic)
    }

    /// The TAI64N of our next initiation: the wall clock's, but never at or before the last one we sent.
    /// A responder refuses an initiation whose timestamp is not newer than the last it accepted (whitepaper
    /// §5.1), so after the wall clock is stepped back (an NTP correction, a VM restored from a snapshot),
    /// initiations stamped by the clock alone would be refused by every peer that saw one from before the
    /// step, for as long as the step — an hour's step, an hour without tunnels.
    /// Per peer, as the responder compares: one shared value would run ahead of the clock with many peers
    /// (about 60 whitened values a second), and a restart would then be refused until the clock caught up.
    func nextInitiationTimestamp(_ wall: WallTime, for peer: Peer) -> TAI64N {
        var timestamp = TAI64N(wall)
        if let last = peer.lastInitiationTimestamp, timestamp <= last { timestamp = last.nextWhitened }
        peer.lastInitiationTimestamp = timestamp
        return timestamp
    }

    /// Handles a handshake-type datagram completely: admission, then the peer state. Returns nil on
    /// success, or why it was dropped.
    func receiveHandshakeMessage(
        _ type: MessageType, _ datagram: UnsafeRawBufferPointer, from source: Endpoint, now: Moment
    )
        -> DropReason?
    {
        guard var admission else { return .noPrivateKey }
        let verdict = admission.admit(
            datagram, from: source, now: now.monotonic, underLoad: forceUnderLoad, random: random)
        self.admission = admission
        switch verdict {
        case .refused(let reason):
            return reason
        case .cookieReply(let reply):
            outbox.append(OutboundDatagram(bytes: reply, endpoint: source))
            return .underLoadCookieSent
        case .admitted(var handshake):
            defer { handshake.wipe() }
            return receiveAdmitted(handshake, from: source, now: now)
        }
    }

    /// Finishes a handshake message the data plane admitted on its own thread; a failure is counted and
    /// reported as a `.refused` event, like every handshake message the engine drops.
    public func receive(_ handshake: AdmittedHandshake, from source: Endpoint, now: Moment) {
        if let reason = receiveAdmitted(handshake, from: source, now: now) { recordRefusedHandshake(reason) }
    }

    /// Counts a handshake message the data plane's admission refused or answered with a cookie.
    public func recordRefusedHandshake(_ reason: DropReason) {
        drops.record(reason)
        events.append(.refused(reason))
    }

    /// The second half of a handshake message, after ``HandshakeAdmission``: the part that needs peer state.
    func receiveAdmitted(_ handshake: AdmittedHandshake, from source: Endpoint, now: Moment) -> DropReason? {
        // Admitted under a key we no longer hold: its encrypted fields would not open under the new one.
        guard let identity, identity.publicKey == handshake.identityKey else { return .handshakeDecryptionFailed }
        switch handshake.type {
        case .handshakeInitiation:
            guard let consumed = handshake.consumed else { return .handshakeDecryptionFailed }
            return acceptInitiation(consumed, message: handshake.message, from: source, now: now)
        case .handshakeResponse:
            return receiveResponse(handshake.message, from: source, now: now)
        case .cookieReply:
            return receiveCookieReply(handshake.message, now: now)
        case .transportData:
            return .unknownMessageType
        }
    }

    private func acceptInitiation(
        _ consumed: NoiseHandshake.ConsumedInitiation, message: [UInt8], from source: Endpoint, now: Moment
    ) -> DropReason? {
        guard let peer = peersByKey[consumed.initiatorStatic] else { return .unknownPeer }
        // Replay: the timestamp must grow (whitepaper §5.1); flood: not faster than the limit.
        if let greatest = peer.greatestTimestamp, consumed.timestamp <= greatest { return .staleTimestamp }
        if let last = peer.lastInitiationConsumedAt,
            now.monotonic.duration(since: last) < Implementation.minInitiationInterval
        {
            return .initiationFlood
        }
        let localIndex = newLocalIndex()
        var ephemeral = X25519.generatePrivateKey(using: random)
        defer { ephemeral.wipe() }
        guard
            var (response, keys) = NoiseHandshake.createResponse(
                to: consumed, presharedKey: peer.presharedKey, localIndex: localIndex, ephemeralPrivate: ephemeral)
        else { return .handshakeDecryptionFailed }
        peer.greatestTimestamp = consumed.timestamp
        peer.lastInitiationConsumedAt = now.monotonic
        peer.receivedBytes &+= UInt64(message.count)
        peer.endpoint = source
        peer.cookieGenerator.addMACs(to: &response, now: now.monotonic)

        // Responder: the new keypair waits in `next` until the initiator's first packet confirms it.
        let keypair = Keypair(
            keys: keys, localIndex: localIndex, remoteIndex: consumed.senderIndex, createdAt: now.monotonic,
            isInitiator: false)
        keys.sendKey.wipe()
        keys.receiveKey.wipe()
        if let old = peer.next { indexTable.removeValue(forKey: old.localIndex) }
        if let old = peer.previous { indexTable.removeValue(forKey: old.localIndex) }
        peer.next = keypair
        peer.previous = nil
        indexTable[localIndex] = .keypair(keypair, peer)
        peer.timers.sessionDerived(at: now.monotonic)
        peer.lastReceivedAt = now.monotonic
        peer.unansweredSince = nil
        peer.timers.anyAuthenticatedPacketReceived()
        peer.timers.anyAuthenticatedPacketTraversal(
            at: now.monotonic, persistentKeepaliveInterval: peer.persistentKeepaliveInterval)
        events.append(.initiationConsumed(peer: peer.publicKey))
        emit(response, to: source, for: peer, now: now.monotonic)
        return nil
    }

    private func receiveResponse(_ message: [UInt8], from source: Endpoint, now: Moment) -> DropReason? {
        let senderIndex = message.littleEndianUInt32(at: HandshakeResponseLayout.senderIndex)
        let receiverIndex = message.littleEndianUInt32(at: HandshakeResponseLayout.receiverIndex)
        guard case .handshake(let peer)? = indexTable[receiverIndex], let state = peer.initiator,
            state.localIndex == receiverIndex
        else { return .unknownReceiverIndex }
        guard let identity,
            var keys = NoiseHandshake.consumeResponse(
                message, state: state, identity: identity, presharedKey: peer.presharedKey)
        else { return .handshakeDecryptionFailed }
        indexTable.removeValue(forKey: receiverIndex)
        peer.initiator?.wipe()
        peer.initiator = nil
        peer.endpoint = source
        peer.receivedBytes &+= UInt64(message.count)

        // Initiator: the new keypair is usable at once (whitepaper §6.3).
        let keypair = Keypair(
            keys: keys, localIndex: receiverIndex, remoteIndex: senderIndex, createdAt: now.monotonic,
            isInitiator: true)
        keys.sendKey.wipe()
        keys.receiveKey.wipe()
        if let old = peer.previous { indexTable.removeValue(forKey: old.localIndex) }
        if let pendingNext = peer.next {
            // An unconfirmed responder keypair becomes previous so late packets under it still open.
            if let current = peer.current { indexTable.removeValue(forKey: current.localIndex) }
            peer.previous = pendingNext
            peer.next = nil
        } else {
            peer.previous = peer.current
        }
        peer.current = keypair
        indexTable[receiverIndex] = .keypair(keypair, peer)
        peer.timers.handshakeComplete()
        peer.timers.sessionDerived(at: now.monotonic)
        peer.lastReceivedAt = now.monotonic
        peer.unansweredSince = nil
        peer.timers.anyAuthenticatedPacketReceived()
        peer.timers.anyAuthenticatedPacketTraversal(
            at: now.monotonic, persistentKeepaliveInterval: peer.persistentKeepaliveInterval)
        peer.lastHandshake = now.wall
        events.append(.completed(peer: peer.publicKey))
        // Confirm the session to the responder: staged packets if any, else a keepalive.
        if peer.staged.isEmpty {
            sendKeepalive(to: peer, now: now)
        } else {
            flushStaged(peer, now: now)
        }
        return nil
    }

    private func receiveCookieReply(_ message: [UInt8], now: Moment) -> DropReason? {
        let receiverIndex = message.littleEndianUInt32(at: CookieReplyLayout.receiverIndex)
        let peer: Peer
        switch indexTable[receiverIndex] {
        case .handshake(let p)?: peer = p
        case .keypair(_, let p)?: peer = p
        case nil: return .unknownReceiverIndex
        }
        guard peer.cookieGenerator.consumeCookieReply(message, now: now.monotonic) else { return .invalidCookieReply }
        // The responder is under load and dropped our initiation: send it again at once with the cookie
        // (mac2) instead of after rekey-timeout, once per initiation, so a handshake during a flood takes
        // a round trip more rather than five seconds more.
        if peer.initiator != nil, !peer.resentWithCookie {
            initiateHandshake(with: peer, now: now, isRetry: true)
            peer.resentWithCookie = true
        }
        return nil
    }

    /// Queues a handshake message for sending and records it as an authenticated packet sent.
    private func emit(_ message: [UInt8], to endpoint: Endpoint, for peer: Peer, now: Instant) {
        outbox.append(OutboundDatagram(bytes: message, endpoint: endpoint))
        peer.transmittedBytes &+= UInt64(message.count)
        peer.timers.anyAuthenticatedPacketSent()
        peer.timers.anyAuthenticatedPacketTraversal(
            at: now, persistentKeepaliveInterval: peer.persistentKeepaliveInterval)
    }
}

extension Endpoint {
    /// Am' of whitepaper §5.4.7: the source address bytes then the port, the input to a cookie.
    var cookieSourceBytes: [UInt8] {
        var out: [UInt8]
        switch address {
        case .v4(let a):
            out = withUnsafeBytes(of: a.value.bigEndian) { Array($0) }
        case .v6(let a):
            out =
                withUnsafeBytes(of: a.high.bigEndian) { Array($0) } + withUnsafeBytes(of: a.low.bigEndian) { Array($0) }
        }
        out.append(UInt8(port >> 8))
        out.append(UInt8(port & 0xff))
        return out
    }
}
