public import CryptoPrimitives
public import NetworkTypes

/// One configured peer: its keys, endpoint, handshake and session state, timers and counters.
///
/// Owned by ``Engine`` and guarded by the engine's serialization; the data plane only sees it through
/// tickets. Reference type because index-table entries, keypairs and the allowed-IPs trie point at it.
public final class Peer: @unchecked Sendable {
    /// Changes only through ``Engine/replacePeerKey(_:with:)`` (a key rotation announced by the peer).
    public internal(set) var publicKey: Key32
    var presharedKey: Key32 = .zero
    /// DH(our static private, their static public), precomputed; nil without a private key or if the
    /// peer's key is a low-order point.
    var staticStatic: Key32?
    var endpoint: Endpoint?
    var persistentKeepaliveInterval: UInt16 = 0
    var cookieGenerator: CookieGenerator

    // MARK: Handshake
    var initiator: NoiseHandshake.InitiatorState?
    var lastInitiationSentAt: Instant?
    var greatestTimestamp: TAI64N?
    var lastInitiationConsumedAt: Instant?

    // MARK: Sessions (whitepaper §6.3 key rotation: previous, current, next)
    var previous: Keypair?
    var current: Keypair?
    /// The responder's fresh keypair, promoted to `current` when the first packet arrives under it.
    var next: Keypair?

    var timers = PeerTimers()
    /// Packets waiting for a session, oldest first; bounded by ``Implementation/maxStagedPackets``.
    var staged: [[UInt8]] = []

    // MARK: Counters (for `wg show` and metrics)
    public internal(set) var receivedBytes: UInt64 = 0
    public internal(set) var transmittedBytes: UInt64 = 0
    public internal(set) var lastHandshake: WallTime?

    init(publicKey: Key32) {
        self.publicKey = publicKey
        self.cookieGenerator = CookieGenerator(peerPublicKey: publicKey)
    }

    /// Erases every session key and the in-flight handshake (after zero-key-material, or on removal).
    func eraseKeyMaterial() {
        previous = nil
        current = nil
        next = nil
        initiator?.wipe()
        initiator = nil
    }

    /// Keypairs that the index table may point at.
    var keypairs: [Keypair] { [previous, current, next].compactMap { $0 } }
}
