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
    /// The TAI64N of the last initiation sent to this peer (``Engine/nextInitiationTimestamp(_:for:)``).
    var lastInitiationTimestamp: TAI64N?
    /// The current initiation was already re-sent with a cookie (at most once per initiation).
    var resentWithCookie = false

    // MARK: Sessions (whitepaper §6.3 key rotation: previous, current, next)
    var previous: Keypair?
    var current: Keypair?
    /// The responder's fresh keypair, promoted to `current` when the first packet arrives under it.
    var next: Keypair?

    var timers = PeerTimers() {
        // Any change may arm a timer: join the engine's list of peers its timer pass visits. Idle peers
        // never join, so 10,000 configured peers cost the timer thread nothing until they talk.
        didSet {
            if !isArmed, let engine {
                isArmed = true
                engine.armedPeers.append(self)
            }
        }
    }
    /// In ``Engine/armedPeers``.
    var isArmed = false
    /// The engine that owns this peer, until it is removed.
    weak var engine: Engine?
    /// Packets waiting for a session, oldest first; bounded by ``Implementation/maxStagedPackets``.
    var staged: [[UInt8]] = []

    // MARK: Counters (for `wg show` and metrics)
    public internal(set) var receivedBytes: UInt64 = 0
    public internal(set) var transmittedBytes: UInt64 = 0
    public internal(set) var lastHandshake: WallTime?
    /// When an authenticated message (handshake or transport, keepalives included) last arrived from the
    /// peer, and when we last sent one: the direct link's liveness (``Engine/livenessRound(of:quiet:now:)``).
    public internal(set) var lastReceivedAt: Instant?
    public internal(set) var lastSentAt: Instant?
    /// Since when data (or a poll) we sent has had nothing back from the peer: the link is in doubt once
    /// this is old. Cleared by anything authenticated from the peer.
    var unansweredSince: Instant?
    /// Data or a poll arrived since we last sent the peer anything: the liveness round answers it, so the
    /// peer's own doubt clears.
    var owesAnswer = false

    /// Order of addition (``Engine/peers`` lists by it).
    let sequence: UInt64

    init(publicKey: Key32, sequence: UInt64 = 0) {
        self.publicKey = publicKey
        self.sequence = sequence
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
