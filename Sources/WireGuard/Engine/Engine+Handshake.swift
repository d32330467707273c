import CryptoPrimitives
import NetworkTypes

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
                localIndex: localIndex, ephemeralPrivate: ephemeral, timestamp: TAI64N(now.wall))
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

    /// Handles a handshake-type datagram completely. Returns nil on success, or why it was dropped.
    func receiveHandshakeMessage(
        _ type: MessageType, _ datagram: UnsafeRawBufferPointer, from source: Endpoint, now: Moment
    )
        -> DropReason?
    {
        guard identity != nil else { return .noPrivateKey }
        let message = Array(datagram)
        switch type {
        case .handshakeInitiation:
            guard message.count == HandshakeInitiationLayout.size else { return .invalidLength }
            return receiveInitiation(message, from: source, now: now)
        case .handshakeResponse:
            guard message.count == HandshakeResponseLayout.size else { return .invalidLength }
            return receiveResponse(message, from: source, now: now)
        case .cookieReply:
            guard message.count == CookieReplyLayout.size else { return .invalidLength }
            return receiveCookieReply(message, now: now)
        case .transportData:
            preconditionFailure("transport data is not a handshake message")
        }
    }

    /// mac1, then the under-load gate: mac2 or a cookie reply, then the per-source rate limit.
    private func admit(_ message: [UInt8], senderIndex: UInt32, from source: Endpoint, now: Moment) -> DropReason? {
        guard var checker = cookieChecker else { return .noPrivateKey }
        defer { cookieChecker = checker }
        guard checker.isMAC1Valid(message) else { return .invalidMAC1 }
        guard isUnderLoad(now: now.monotonic) else { return nil }
        let sourceBytes = source.cookieSourceBytes
        guard checker.isMAC2Valid(message, source: sourceBytes, now: now.monotonic, random: random) else {
            let reply = checker.makeCookieReply(
                to: message, receiverIndex: senderIndex, source: sourceBytes, now: now.monotonic, random: random)
            outbox.append(OutboundDatagram(bytes: reply, endpoint: source))
            return .underLoadCookieSent
        }
        guard rateLimiter.allow(source.address, now: now.monotonic) else { return .rateLimited }
        return nil
    }

    /// Counts handshake messages per second; above the threshold we are under load for a while.
    func isUnderLoad(now: Instant) -> Bool {
        if forceUnderLoad { return true }
        if let start = handshakeWindowStart, now.duration(since: start) < .seconds(1) {
            handshakesInWindow += 1
        } else {
            handshakeWindowStart = now
            handshakesInWindow = 1
        }
        if handshakesInWindow > Implementation.underLoadHandshakesPerSecond {
            underLoadUntil = now + Implementation.underLoadAfterTime
        }
        if let until = underLoadUntil, now < until { return true }
        return false
    }

    private func receiveInitiation(_ message: [UInt8], from source: Endpoint, now: Moment) -> DropReason? {
        let senderIndex = message.littleEndianUInt32(at: HandshakeInitiationLayout.senderIndex)
        if let refused = admit(message, senderIndex: senderIndex, from: source, now: now) { return refused }
        guard let identity, var consumed = NoiseHandshake.consumeInitiation(message, identity: identity) else {
            return .handshakeDecryptionFailed
        }
        defer { consumed.wipe() }
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
        if let refused = admit(message, senderIndex: senderIndex, from: source, now: now) { return refused }
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
