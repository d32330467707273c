public import CryptoPrimitives
public import NetworkTypes

/// The WireGuard protocol for one interface, without I/O: packets, time and randomness go in;
/// datagrams to send, packets to deliver and counted drops come out.
///
/// Flow. Outbound: ``prepareSend(packet:now:)`` routes a TUN packet by cryptokey routing and either
/// reserves a counter (a ``SendTicket``) or stages the packet and starts a handshake; the caller then
/// seals with ``seal(_:buffer:payloadLength:mtu:aead:)`` outside any lock. Inbound:
/// ``prepareReceive(datagram:from:now:)`` parses by (type, length); handshake messages are handled at once,
/// transport messages yield a ``ReceiveTicket``; the caller opens with ``open(_:datagram:aead:)`` outside
/// any lock and finishes with ``completeReceive(_:opened:from:now:)`` (replay window, roaming, rotation,
/// source check). ``tick(now:)`` runs the timers. Handshake messages, keepalives and flushed staged
/// packets collect in the outbox: ``takeOutbox()``.
///
/// Not safe for concurrent use: the data plane serializes every call except `seal` and `open`, which
/// are static and touch only immutable keypair fields.
public final class Engine: @unchecked Sendable {
    public internal(set) var identity: StaticIdentity?
    /// mac1/mac2, cookies and the rate limit for handshake messages this engine admits itself (the data
    /// plane admits on its own thread with its own ``HandshakeAdmission``).
    var admission: HandshakeAdmission?
    let random: any RandomSource

    var peersByKey: [Key32: Peer] = [:]
    /// Numbers peers in the order they were added, as `wg show` lists them (a counter rather than a list,
    /// so removing one of 10,000 peers costs nothing extra).
    var peersAdded: UInt64 = 0
    /// Peers whose timers changed since they last had nothing pending: the only ones ``tick(now:)`` and
    /// ``nextDeadline`` look at (a peer joins when its timers change and leaves when none is set).
    var armedPeers: [Peer] = []
    var allowedIPs = AllowedIPs<Peer>()

    enum IndexEntry {
        case handshake(Peer)
        case keypair(Keypair, Peer)
    }
    var indexTable: [UInt32: IndexEntry] = [:]

    var outbox: [OutboundDatagram] = []
    /// Events since the last ``takeEvents()``, for logs and metrics.
    var events: [HandshakeEvent] = []
    public internal(set) var drops = DropCounters()

    /// DH(our static, peer static) for keys about to be added, computed by the caller outside its lock
    /// (``apply(_:now:precomputed:)``): 10,000 new peers are 10,000 DHs the packet threads must not wait for.
    var precomputedStaticStatic: [Key32: Key32]?
    /// Tests and drills may force the under-load state (whitepaper §5.3).
    public var forceUnderLoad = false
    /// When the initiator rekeys on send. ``Specification/rekeyAfterTime`` unless an integration test
    /// shortens it to watch a rekey happen; every other timer keeps the whitepaper's value.
    public var rekeyAfterTime: Duration = Specification.rekeyAfterTime
    /// The tunnel interface's MTU, which caps padding (whitepaper §5.4.6). The data plane keeps it current.
    public var mtu = 1420

    /// - Parameter random: the source of ephemeral keys, indices, cookie secrets and jitter.
    public init(random: any RandomSource) {
        self.random = random
    }

    // MARK: - Configuration

    /// Sets or clears (nil or all-zero) the interface's private key. Sessions made under the old key are erased.
    public func setPrivateKey(_ key: Key32?) {
        setPrivateKey(key, keepingSessions: false)
    }

    /// Sets the private key. With `keepingSessions` (a planned key rotation), established transport
    /// keypairs stay usable until they expire — they do not depend on the static keys — and only
    /// handshakes in flight are abandoned; the next handshake uses the new key.
    public func setPrivateKey(_ key: Key32?, keepingSessions: Bool) {
        if var key, !key.isZero {
            // Store the scalar actually used, as wireguard-go does, so `wg showconf` prints the same key.
            X25519.clamp(&key)
            if identity?.privateKey == key { return }
            let identity = StaticIdentity(privateKey: key)
            self.identity = identity
            self.admission = HandshakeAdmission(identity: identity)
            // A peer with our own public key would be ourselves: wireguard-go removes it too.
            if peersByKey[identity.publicKey] != nil { removePeer(publicKey: identity.publicKey) }
        } else {
            identity = nil
            admission = nil
        }
        for peer in peersByKey.values {
            peer.staticStatic = computeStaticStatic(peer.publicKey)
            if keepingSessions {
                if let state = peer.initiator { indexTable.removeValue(forKey: state.localIndex) }
                peer.initiator?.wipe()
                peer.initiator = nil
                peer.lastInitiationSentAt = nil
            } else {
                dropSessions(of: peer)
            }
        }
    }

    /// Gives the peer known as `old` the public key `new` (the peer rotated its key and told us through the
    /// tunnel), keeping its sessions, endpoint, allowed IPs and counters. False if `old` is unknown or `new`
    /// is taken.
    @discardableResult
    public func replacePeerKey(_ old: Key32, with new: Key32) -> Bool {
        guard let peer = peersByKey[old], peersByKey[new] == nil, identity?.publicKey != new else { return false }
        peersByKey.removeValue(forKey: old)
        peer.publicKey = new
        peer.cookieGenerator = CookieGenerator(peerPublicKey: new)
        peer.staticStatic = computeStaticStatic(new)
        peer.greatestTimestamp = nil
        if let state = peer.initiator { indexTable.removeValue(forKey: state.localIndex) }
        peer.initiator?.wipe()
        peer.initiator = nil
        peer.lastInitiationSentAt = nil
        peersByKey[new] = peer
        return true
    }

    /// Starts a handshake with every peer that has an endpoint (after a key rotation, to move every
    /// session to the new key at once).
    public func initiateHandshakes(now: Moment) {
        for peer in peers where peer.endpoint != nil { initiateHandshake(with: peer, now: now, isRetry: false) }
    }

    /// The peer with this public key, creating it if it does not exist. Nil if the key is our own.
    @discardableResult
    public func addPeer(publicKey: Key32) -> Peer? {
        if let existing = peersByKey[publicKey] { return existing }
        if identity?.publicKey == publicKey { return nil }
        peersAdded += 1
        let peer = Peer(publicKey: publicKey, sequence: peersAdded)
        peer.engine = self
        peer.staticStatic = precomputedStaticStatic?[publicKey] ?? computeStaticStatic(publicKey)
        peersByKey[publicKey] = peer
        return peer
    }

    public func peer(publicKey: Key32) -> Peer? { peersByKey[publicKey] }

    /// Peers in insertion order.
    public var peers: [Peer] { peersByKey.values.sorted { $0.sequence < $1.sequence } }

    /// The public keys of the peers, in the order they were added.
    public var peerKeys: [Key32] { peers.map(\.publicKey) }

    public func removePeer(publicKey: Key32) {
        guard let peer = peersByKey.removeValue(forKey: publicKey) else { return }
        peer.engine = nil  // the next timer pass drops it from armedPeers
        allowedIPs.removeAll(for: peer)
        dropSessions(of: peer)
        peer.staged.removeAll()
    }

    public func removeAllPeers() {
        for key in Array(peersByKey.keys) { removePeer(publicKey: key) }
    }

    public func setPresharedKey(_ key: Key32, for peer: Peer) { peer.presharedKey = key }

    public func setEndpoint(_ endpoint: Endpoint, for peer: Peer) { peer.endpoint = endpoint }

    /// Sets the persistent keepalive interval (0 turns it off); turning it on sends a keepalive at once,
    /// which also starts a handshake if there is no session (as wireguard-go does).
    public func setPersistentKeepalive(_ seconds: UInt16, for peer: Peer, now: Moment) {
        let wasOff = peer.persistentKeepaliveInterval == 0
        peer.persistentKeepaliveInterval = seconds
        if seconds == 0 {
            peer.timers.persistentKeepaliveAt = nil
        } else if wasOff {
            sendKeepalive(to: peer, now: now)
        }
    }

    public func addAllowedIP(_ prefix: IPPrefix, for peer: Peer) { allowedIPs.insert(prefix, value: peer) }

    public func removeAllowedIPs(for peer: Peer) { allowedIPs.removeAll(for: peer) }

    /// Removes `prefix` from whichever peer has it.
    public func removeAllowedIP(_ prefix: IPPrefix) { allowedIPs.remove(prefix) }

    public func allowedIPs(for peer: Peer) -> [IPPrefix] { allowedIPs.prefixes(for: peer) }

    // MARK: - Outputs

    /// Datagrams the engine wants sent, in order; empties the outbox.
    public func takeOutbox() -> [OutboundDatagram] {
        // Swapping in an empty array allocates nothing; keeping capacity would copy on the next append.
        let taken = outbox
        outbox = []
        return taken
    }

    /// True if ``takeOutbox()`` has something (checked without allocating).
    public var hasOutbound: Bool { !outbox.isEmpty }

    /// Handshake events since the last call; empties the list.
    /// Whether handshake events wait for ``takeEvents()``.
    public var hasEvents: Bool { !events.isEmpty }

    public func takeEvents() -> [HandshakeEvent] {
        let taken = events
        events = []
        return taken
    }

    /// Counts a drop that happened outside the engine (the data plane's own checks).
    public func recordDrop(_ reason: DropReason, count: UInt64 = 1) { drops.record(reason, count: count) }

    // MARK: - Helpers

    func computeStaticStatic(_ peerKey: Key32) -> Key32? {
        guard let identity else { return nil }
        return X25519.sharedSecret(privateKey: identity.privateKey, publicKey: peerKey)
    }

    /// Forgets every keypair and handshake of `peer`, and their indices.
    func dropSessions(of peer: Peer) {
        for keypair in peer.keypairs { indexTable.removeValue(forKey: keypair.localIndex) }
        if let state = peer.initiator { indexTable.removeValue(forKey: state.localIndex) }
        peer.eraseKeyMaterial()
        peer.timers = PeerTimers()
    }

    /// A fresh random index not in use.
    func newLocalIndex() -> UInt32 {
        while true {
            let index = random.nextUInt32()
            if indexTable[index] == nil { return index }
        }
    }

    /// Uniform jitter in [0, rekeyTimeoutJitterMax).
    func jitter() -> Duration {
        .milliseconds(Int(random.nextUInt32() % Implementation.rekeyTimeoutJitterMaxMilliseconds))
    }
}
