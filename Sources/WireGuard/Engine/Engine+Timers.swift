// MARK: - Timer expiry (whitepaper §6; the kernel's timers.c)

extension Engine {
    /// Fires every peer timer whose deadline is at or before `now`. Call by ``nextDeadline`` (deadlines are
    /// whole milliseconds of jitter apart, so a millisecond late is on time); extra calls are harmless.
    public func tick(now: Moment) {
        // By index: a tick may arm more peers (appending), which wait for the next pass.
        let count = armedPeers.count
        for i in 0..<count where armedPeers[i].engine === self { tick(armedPeers[i], now: now) }
        // Peers with nothing pending, or removed, leave the list until their timers change again.
        armedPeers.removeAll { peer in
            guard peer.engine !== self || peer.timers.nextDeadline == nil else { return false }
            peer.isArmed = false
            return true
        }
    }

    /// The earliest deadline over all peers, or nil when nothing is pending.
    public var nextDeadline: Instant? {
        // One pass, no intermediate array: the timer thread asks after every wake.
        var earliest: Instant?
        for peer in armedPeers where peer.engine === self {
            if let at = peer.timers.nextDeadline, earliest.map({ at < $0 }) ?? true { earliest = at }
        }
        return earliest
    }

    private func tick(_ peer: Peer, now: Moment) {
        let t = now.monotonic
        if let at = peer.timers.retransmitHandshakeAt, at <= t {
            peer.timers.retransmitHandshakeAt = nil
            if peer.timers.handshakeAttempts >= Implementation.maxHandshakeAttempts {
                // Give up after rekey-attempt-time: drop what waited, keep keys until zeroed.
                peer.timers.sendKeepaliveAt = nil
                if !peer.staged.isEmpty {
                    drops.record(.handshakeTimedOut, count: UInt64(peer.staged.count))
                    peer.staged.removeAll()
                }
                if peer.timers.zeroKeyMaterialAt == nil {
                    peer.timers.zeroKeyMaterialAt = t + Specification.rejectAfterTime * 3
                }
                if let state = peer.initiator { indexTable.removeValue(forKey: state.localIndex) }
                peer.initiator?.wipe()
                peer.initiator = nil
                events.append(.gaveUp(peer: peer.publicKey))
            } else {
                peer.timers.handshakeAttempts += 1
                initiateHandshake(with: peer, now: now, isRetry: true)
            }
        }
        if let at = peer.timers.sendKeepaliveAt, at <= t {
            peer.timers.sendKeepaliveAt = nil
            sendKeepalive(to: peer, now: now)
            if peer.timers.needAnotherKeepalive {
                peer.timers.needAnotherKeepalive = false
                peer.timers.sendKeepaliveAt = t + Specification.keepaliveTimeout
            }
        }
        if let at = peer.timers.newHandshakeAt, at <= t {
            // We sent data and heard nothing for keepalive + rekey timeout: the session may be dead.
            peer.timers.newHandshakeAt = nil
            initiateHandshake(with: peer, now: now, isRetry: false)
        }
        if let at = peer.timers.zeroKeyMaterialAt, at <= t {
            peer.timers.zeroKeyMaterialAt = nil
            for keypair in peer.keypairs { indexTable.removeValue(forKey: keypair.localIndex) }
            if let state = peer.initiator { indexTable.removeValue(forKey: state.localIndex) }
            peer.eraseKeyMaterial()
        }
        if let at = peer.timers.persistentKeepaliveAt, at <= t {
            peer.timers.persistentKeepaliveAt = nil
            if peer.persistentKeepaliveInterval > 0 { sendKeepalive(to: peer, now: now) }
        }
    }
}
