public import CryptoPrimitives
public import NetworkTypes

// MARK: - Transport data (whitepaper §5.4.6) and the data-plane entry points

extension Engine {
    /// Routes one IP packet read from the TUN device (`packet` is the bare IP packet).
    ///
    /// Reserves a counter under the peer's current keypair, or stages the packet and starts a handshake.
    public func prepareSend(packet: UnsafeRawBufferPointer, now: Moment) -> SendDecision {
        guard let peer = destinationPeer(of: packet) else {
            drops.record(.noRoute)
            return .drop(.noRoute)
        }
        guard identity != nil else {
            drops.record(.noPrivateKey)
            return .drop(.noPrivateKey)
        }
        guard let endpoint = peer.endpoint else {
            drops.record(.noEndpoint)
            return .drop(.noEndpoint)
        }
        guard let keypair = peer.current, keypair.canSend(at: now.monotonic) else {
            stage(Array(packet), for: peer)
            initiateHandshake(with: peer, now: now, isRetry: false)
            return .staged
        }
        let counter = keypair.sendCounter
        keypair.sendCounter += 1
        noteSent(peer: peer, keypair: keypair, payloadLength: packet.count, now: now)
        return .send(SendTicket(keypair: keypair, counter: counter, endpoint: endpoint))
    }

    /// Seals a packet in place. `buffer` holds the packet at offset ``TransportDataLayout/headerSize`` and must
    /// have room for padding and the tag after it. Returns the datagram's length.
    ///
    /// Pure and lock-free: it reads only the ticket's immutable keys.
    public static func seal(
        _ ticket: SendTicket, buffer: UnsafeMutableRawBufferPointer, payloadLength: Int, mtu: Int,
        aead: ChaCha20Poly1305
    ) -> Int {
        let padded = paddedLength(payloadLength, mtu: mtu)
        let header = TransportDataLayout.headerSize
        precondition(buffer.count >= header + padded + ChaCha20Poly1305.tagByteCount, "send buffer too small")
        if padded > payloadLength {
            (buffer.baseAddress! + header + payloadLength).initializeMemory(
                as: UInt8.self, repeating: 0, count: padded - payloadLength)
        }
        buffer.storeLittleEndian(MessageType.transportData.rawValue, at: 0)
        buffer.storeLittleEndian(ticket.keypair.remoteIndex, at: TransportDataLayout.receiverIndex)
        buffer.storeLittleEndian(ticket.counter, at: TransportDataLayout.counter)
        aead.seal(
            key: ticket.keypair.sendKey, counter: ticket.counter,
            buffer: UnsafeMutableRawBufferPointer(rebasing: buffer[header..<(header + padded)]),
            tag: UnsafeMutableRawBufferPointer(
                rebasing: buffer[(header + padded)..<(header + padded + ChaCha20Poly1305.tagByteCount)]))
        return header + padded + ChaCha20Poly1305.tagByteCount
    }

    /// Classifies a datagram from the UDP socket; handles handshake messages completely.
    public func prepareReceive(datagram: UnsafeRawBufferPointer, from source: Endpoint, now: Moment)
        -> ReceiveDecision
    {
        guard let type = MessageType.classify(datagram) else {
            let reason: DropReason = datagram.count < 4 ? .invalidLength : .unknownMessageType
            drops.record(reason)
            return .drop(reason)
        }
        guard type == .transportData else {
            if let reason = receiveHandshakeMessage(type, datagram, from: source, now: now) {
                drops.record(reason)
                events.append(.refused(reason))
                return .drop(reason)
            }
            return .handled
        }
        guard datagram.count >= TransportDataLayout.minimumSize else {
            drops.record(.invalidLength)
            return .drop(.invalidLength)
        }
        let index = datagram.loadLittleEndianUInt32(at: TransportDataLayout.receiverIndex)
        guard case .keypair(let keypair, let peer)? = indexTable[index] else {
            drops.record(.unknownReceiverIndex)
            return .drop(.unknownReceiverIndex)
        }
        guard keypair.canReceive(at: now.monotonic) else {
            drops.record(.keypairExpired)
            return .drop(.keypairExpired)
        }
        let counter = datagram.loadLittleEndianUInt64(at: TransportDataLayout.counter)
        return .open(ReceiveTicket(keypair: keypair, peer: peer, counter: counter))
    }

    /// Opens a transport message in place; false if its tag does not verify. Pure and lock-free.
    public static func open(_ ticket: ReceiveTicket, datagram: UnsafeMutableRawBufferPointer, aead: ChaCha20Poly1305)
        -> Bool
    {
        let header = TransportDataLayout.headerSize
        let tagStart = datagram.count - ChaCha20Poly1305.tagByteCount
        return aead.open(
            key: ticket.keypair.receiveKey, counter: ticket.counter,
            buffer: UnsafeMutableRawBufferPointer(rebasing: datagram[header..<tagStart]),
            tag: UnsafeRawBufferPointer(rebasing: datagram[tagStart...]))
    }

    /// Finishes receiving an opened (or failed) transport message: replay window, session confirmation and
    /// rotation, roaming, timers, and the inner packet's source check.
    public func completeReceive(
        _ ticket: ReceiveTicket, opened: UnsafeRawBufferPointer?, from source: Endpoint, now: Moment
    )
        -> DeliverDecision
    {
        guard let opened else {
            drops.record(.invalidAuthenticationTag)
            return .drop(.invalidAuthenticationTag)
        }
        let keypair = ticket.keypair
        let peer = ticket.peer
        guard keypair.replayWindow.accept(ticket.counter) else {
            drops.record(.replayedCounter)
            return .drop(.replayedCounter)
        }
        // The peer may have been removed or re-keyed while the packet was being opened.
        guard case .keypair(let live, _)? = indexTable[keypair.localIndex], live === keypair else {
            drops.record(.unknownReceiverIndex)
            return .drop(.unknownReceiverIndex)
        }
        if peer.next === keypair { confirmNextKeypair(of: peer, now: now) }
        peer.endpoint = source
        peer.receivedBytes &+= UInt64(opened.count)
        peer.lastReceivedAt = now.monotonic
        peer.unansweredSince = nil
        peer.timers.anyAuthenticatedPacketReceived()
        peer.timers.anyAuthenticatedPacketTraversal(
            at: now.monotonic, persistentKeepaliveInterval: peer.persistentKeepaliveInterval)
        keepKeyFreshReceiving(peer, now: now)

        let payload = UnsafeRawBufferPointer(rebasing: opened[TransportDataLayout.headerSize..<(opened.count - 16)])
        if payload.isEmpty { return .keepalive }
        if Engine.isPoll(payload) {
            peer.owesAnswer = true
            return .keepalive
        }
        guard let length = InnerPacket.length(of: payload) else {
            drops.record(.malformedInnerPacket)
            return .drop(.malformedInnerPacket)
        }
        guard let sender = InnerPacket.sourcePeer(of: payload, in: allowedIPs), sender === peer else {
            drops.record(.sourceNotAllowed)
            return .drop(.sourceNotAllowed)
        }
        peer.timers.dataReceived(at: now.monotonic)
        peer.owesAnswer = true
        return .deliver(length: length)
    }

    // MARK: - Internals

    func destinationPeer(of packet: UnsafeRawBufferPointer) -> Peer? {
        InnerPacket.destinationPeer(of: packet, in: allowedIPs)
    }

    /// Padding to a multiple of 16, never beyond the MTU (whitepaper §5.4.6).
    static func paddedLength(_ length: Int, mtu: Int) -> Int {
        let multiple = Implementation.paddingMultiple
        let rounded = (length + multiple - 1) / multiple * multiple
        return length > mtu ? length : min(rounded, max(mtu, length))
    }

    func stage(_ packet: [UInt8], for peer: Peer) {
        if peer.staged.count >= Implementation.maxStagedPackets {
            peer.staged.removeFirst()
            drops.record(.stagingQueueFull)
        }
        peer.staged.append(packet)
    }

    /// Seals staged packets into the outbox now that a session exists (rare path: allocates).
    func flushStaged(_ peer: Peer, now: Moment) {
        guard let endpoint = peer.endpoint, let keypair = peer.current, keypair.canSend(at: now.monotonic) else {
            return
        }
        let packets = peer.staged
        peer.staged.removeAll()
        let aead = ChaCha20Poly1305()
        for packet in packets {
            let counter = keypair.sendCounter
            keypair.sendCounter += 1
            let ticket = SendTicket(keypair: keypair, counter: counter, endpoint: endpoint)
            var buffer = [UInt8](repeating: 0, count: TransportDataLayout.overhead + packet.count + 16)
            let length = buffer.withUnsafeMutableBytes { raw -> Int in
                raw.baseAddress!.advanced(by: TransportDataLayout.headerSize).copyMemory(
                    from: packet.withUnsafeBytes { $0.baseAddress! }, byteCount: packet.count)
                return Engine.seal(ticket, buffer: raw, payloadLength: packet.count, mtu: mtu, aead: aead)
            }
            buffer.removeLast(buffer.count - length)
            outbox.append(OutboundDatagram(bytes: buffer, endpoint: endpoint))
            noteSent(peer: peer, keypair: keypair, payloadLength: packet.count, now: now)
        }
    }

    /// A liveness poll: padding only (``Implementation/pollPlaintextLength`` zero bytes).
    static func isPoll(_ payload: UnsafeRawBufferPointer) -> Bool {
        payload.count == Implementation.pollPlaintextLength && payload.allSatisfy { $0 == 0 }
    }

    /// Sends an authenticated empty packet (or, with `poll`, one of padding the peer answers), or stages
    /// one and starts a handshake if there is no session.
    func sendKeepalive(to peer: Peer, now: Moment, poll: Bool = false) {
        if let keypair = peer.current, keypair.canSend(at: now.monotonic), let endpoint = peer.endpoint {
            let counter = keypair.sendCounter
            keypair.sendCounter += 1
            let plaintext = poll ? Implementation.pollPlaintextLength : 0
            var buffer = [UInt8](repeating: 0, count: TransportDataLayout.overhead + plaintext)
            _ = buffer.withUnsafeMutableBytes {
                Engine.seal(
                    SendTicket(keypair: keypair, counter: counter, endpoint: endpoint), buffer: $0,
                    payloadLength: plaintext, mtu: 0, aead: ChaCha20Poly1305())
            }
            outbox.append(OutboundDatagram(bytes: buffer, endpoint: endpoint))
            peer.transmittedBytes &+= UInt64(buffer.count)
            peer.lastSentAt = now.monotonic
            peer.owesAnswer = false
            if poll, peer.unansweredSince == nil { peer.unansweredSince = now.monotonic }
            peer.timers.anyAuthenticatedPacketSent()
            peer.timers.anyAuthenticatedPacketTraversal(
                at: now.monotonic, persistentKeepaliveInterval: peer.persistentKeepaliveInterval)
            keepKeyFreshSending(peer, keypair: keypair, now: now)
        } else {
            if peer.staged.isEmpty { stage([], for: peer) }
            initiateHandshake(with: peer, now: now, isRetry: false)
        }
    }

    /// Bookkeeping for a sealed data packet: bytes, timers, and rekey-on-send (whitepaper §6.2).
    private func noteSent(peer: Peer, keypair: Keypair, payloadLength: Int, now: Moment) {
        let wire = TransportDataLayout.overhead + Engine.paddedLength(payloadLength, mtu: mtu)
        peer.transmittedBytes &+= UInt64(wire)
        peer.lastSentAt = now.monotonic
        peer.owesAnswer = false
        if payloadLength > 0 {
            peer.timers.dataSent(at: now.monotonic, jitter: jitter())
            if peer.unansweredSince == nil { peer.unansweredSince = now.monotonic }
        }
        peer.timers.anyAuthenticatedPacketSent()
        peer.timers.anyAuthenticatedPacketTraversal(
            at: now.monotonic, persistentKeepaliveInterval: peer.persistentKeepaliveInterval)
        keepKeyFreshSending(peer, keypair: keypair, now: now)
    }

    /// Rekey on send (whitepaper §6.2): after rekey-after-messages on either side, or rekey-after-time for
    /// the initiator. Runs for keepalives too, so a keepalive-only tunnel never lapses.
    private func keepKeyFreshSending(_ peer: Peer, keypair: Keypair, now: Moment) {
        if keypair.sendCounter > Specification.rekeyAfterMessages
            || (keypair.isInitiator && now.monotonic.duration(since: keypair.createdAt) > rekeyAfterTime)
        {
            initiateHandshake(with: peer, now: now, isRetry: false)
        }
    }

    /// The initiator rekeys on receive when its keypair nears reject-after-time (whitepaper §6.2).
    private func keepKeyFreshReceiving(_ peer: Peer, now: Moment) {
        guard let current = peer.current, current.isInitiator else { return }
        let threshold = Specification.rejectAfterTime - Specification.keepaliveTimeout - Specification.rekeyTimeout
        if now.monotonic.duration(since: current.createdAt) > threshold {
            initiateHandshake(with: peer, now: now, isRetry: false)
        }
    }

    /// First packet under the responder's `next` keypair: it becomes current (whitepaper §6.3).
    private func confirmNextKeypair(of peer: Peer, now: Moment) {
        guard let next = peer.next else { return }
        if let old = peer.previous { indexTable.removeValue(forKey: old.localIndex) }
        peer.previous = peer.current
        peer.current = next
        peer.next = nil
        peer.timers.handshakeComplete()
        peer.lastHandshake = now.wall
        events.append(.completed(peer: peer.publicKey))
        flushStaged(peer, now: now)
    }
}
