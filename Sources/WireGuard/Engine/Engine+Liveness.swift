public import CryptoPrimitives

/// What one liveness round learned of a peer's direct link.
public struct LinkActivity: Sendable, Hashable {
    /// How long ago an authenticated message (handshake or transport, keepalives included) last came from
    /// the peer; nil: never.
    public var sinceHeard: Duration?
    /// How long data or a poll we sent has gone without anything back; nil: nothing is waiting.
    public var unansweredFor: Duration?

    public init(sinceHeard: Duration?, unansweredFor: Duration?) {
        self.sinceHeard = sinceHeard
        self.unansweredFor = unansweredFor
    }
}

extension Engine {
    /// One round of direct-link liveness, by demand: nothing is sent through an idle tunnel. For each peer
    /// in `keys`, a keepalive answers the data or poll that came since we last sent it anything (so the
    /// peer's doubt clears); a poll goes to a peer whose answer to our data has been missing for
    /// `pollAfter` (it answers with a keepalive). Both travel the peer's own session to its endpoint, so
    /// what comes back proves the direct link, whatever the allowed IPs route through (a relay). Without
    /// a session they start a handshake, at most one per rekey-timeout (whitepaper §6.1).
    public func livenessRound(of keys: [Key32], pollAfter: Duration, now: Moment) -> [Key32: LinkActivity] {
        var activity: [Key32: LinkActivity] = [:]
        activity.reserveCapacity(keys.count)
        for key in keys {
            guard let peer = peersByKey[key] else { continue }
            if peer.owesAnswer {
                sendKeepalive(to: peer, now: now)
            } else if let since = peer.unansweredSince, now.monotonic.duration(since: since) >= pollAfter {
                sendKeepalive(to: peer, now: now, poll: true)
            }
            activity[key] = LinkActivity(
                sinceHeard: peer.lastReceivedAt.map { now.monotonic.duration(since: $0) },
                unansweredFor: peer.unansweredSince.map { now.monotonic.duration(since: $0) })
        }
        return activity
    }
}
