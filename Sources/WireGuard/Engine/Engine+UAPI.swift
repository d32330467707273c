public import CryptoPrimitives
import NetworkTypes

// MARK: - Applying and reporting configuration in the UAPI's terms

extension Engine {
    /// Applies the engine's part of a validated `set=1` request (keys, peers, allowed IPs, endpoints,
    /// keepalives). Listen port and fwmark belong to the socket owner. Cannot fail: every check happened
    /// when the request was parsed, so the change lands whole.
    public func apply(_ change: UAPIConfigurationChange, now: Moment) {
        apply(change, now: now, precomputed: nil)
    }

    /// ``apply(_:now:)`` with DH(our static, peer static) for new peers already computed (by
    /// ``staticStatics(for:identity:)`` outside the caller's lock), valid for the identity they were made with.
    public func apply(
        _ change: UAPIConfigurationChange, now: Moment, precomputed: (identity: Key32, values: [Key32: Key32])?
    ) {
        if let key = change.privateKey { setPrivateKey(key.isZero ? nil : key) }
        if let precomputed, precomputed.identity == identity?.publicKey { precomputedStaticStatic = precomputed.values }
        defer { precomputedStaticStatic = nil }
        if change.replacePeers { removeAllPeers() }
        for peerChange in change.peers {
            if peerChange.remove {
                removePeer(publicKey: peerChange.publicKey)
                continue
            }
            if peerChange.updateOnly && peer(publicKey: peerChange.publicKey) == nil { continue }
            guard let peer = addPeer(publicKey: peerChange.publicKey) else { continue }
            if let psk = peerChange.presharedKey { setPresharedKey(psk, for: peer) }
            if let endpoint = peerChange.endpoint { setEndpoint(endpoint, for: peer) }
            if peerChange.replaceAllowedIPs { removeAllowedIPs(for: peer) }
            for prefix in peerChange.removedAllowedIPs where allowedIPs.contains(prefix, for: peer) {
                allowedIPs.remove(prefix)
            }
            for prefix in peerChange.allowedIPs { addAllowedIP(prefix, for: peer) }
            if let interval = peerChange.persistentKeepaliveInterval {
                setPersistentKeepalive(interval, for: peer, now: now)
            }
        }
    }

    /// The peers as `get=1` reports them, in the order they were added.
    public func peerSnapshots() -> [UAPIPeerSnapshot] {
        peers.map(snapshot(of:))
    }

    /// One peer as `get=1` reports it; nil if there is no such peer (any more).
    public func peerSnapshot(publicKey: Key32) -> UAPIPeerSnapshot? {
        peersByKey[publicKey].map(snapshot(of:))
    }

    private func snapshot(of peer: Peer) -> UAPIPeerSnapshot {
        UAPIPeerSnapshot(
            publicKey: peer.publicKey,
            presharedKey: peer.presharedKey.isZero ? nil : peer.presharedKey,
            endpoint: peer.endpoint,
            lastHandshakeSeconds: peer.lastHandshake?.seconds ?? 0,
            lastHandshakeNanoseconds: Int64(peer.lastHandshake?.nanoseconds ?? 0),
            rxBytes: peer.receivedBytes,
            txBytes: peer.transmittedBytes,
            persistentKeepaliveInterval: peer.persistentKeepaliveInterval,
            allowedIPs: allowedIPs.prefixes(for: peer))
    }

    /// DH(our static, peer static) for every peer `change` would add, for ``apply(_:now:precomputed:)``:
    /// pure, so the data plane runs it before taking the engine lock. Nil without an identity to use.
    public static func staticStatics(for change: UAPIConfigurationChange, identity: StaticIdentity?)
        -> (identity: Key32, values: [Key32: Key32])?
    {
        var identity = identity
        if let key = change.privateKey {
            var clamped = key
            X25519.clamp(&clamped)
            identity = key.isZero ? nil : StaticIdentity(privateKey: clamped)
        }
        guard let identity else { return nil }
        var values: [Key32: Key32] = [:]
        for peer in change.peers where !peer.remove {
            if let shared = X25519.sharedSecret(privateKey: identity.privateKey, publicKey: peer.publicKey) {
                values[peer.publicKey] = shared
            }
        }
        return (identity.publicKey, values)
    }
}
