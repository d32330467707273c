import CryptoPrimitives
import NetworkTypes

// MARK: - Applying and reporting configuration in the UAPI's terms

extension Engine {
    /// Applies the engine's part of a validated `set=1` request (keys, peers, allowed IPs, endpoints,
    /// keepalives). Listen port and fwmark belong to the socket owner. Cannot fail: every check happened
    /// when the request was parsed, so the change lands whole.
    public func apply(_ change: UAPIConfigurationChange, now: Moment) {
        if let key = change.privateKey { setPrivateKey(key.isZero ? nil : key) }
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
            for prefix in peerChange.removedAllowedIPs where allowedIPs.lookupOwner(of: prefix) === peer {
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
        peers.map { peer in
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
    }
}

extension AllowedIPs {
    /// The value stored for exactly `prefix` (not a longest match), if any.
    func lookupOwner(of prefix: IPPrefix) -> Value? {
        let canonical = prefix.canonical
        guard let value = lookup(canonical.address) else { return nil }
        return prefixes(for: value).contains(canonical) ? value : nil
    }
}
