public import CryptoPrimitives

extension Engine {
    /// One round of direct-link liveness: for each peer in `keys`, how long ago an authenticated message
    /// last arrived from it (absent: never), after sending a keepalive to each peer we have sent nothing
    /// to for `quiet`. A keepalive travels the peer's own session to its endpoint, so what comes back
    /// proves the direct link, whatever the allowed IPs route through (a relay). Without a session the
    /// keepalive starts a handshake, at most one per rekey-timeout (whitepaper §6.1).
    public func livenessRound(of keys: [Key32], quiet: Duration, now: Moment) -> [Key32: Duration] {
        var ages: [Key32: Duration] = [:]
        ages.reserveCapacity(keys.count)
        for key in keys {
            guard let peer = peersByKey[key] else { continue }
            if let at = peer.lastReceivedAt { ages[key] = now.monotonic.duration(since: at) }
            if peer.lastSentAt.map({ now.monotonic.duration(since: $0) >= quiet }) ?? true {
                sendKeepalive(to: peer, now: now)
            }
        }
        return ages
    }
}
