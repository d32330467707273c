public import CryptoPrimitives

/// One direction-pair of transport keys from a completed handshake (whitepaper §5.4.5), and the
/// counters used with it.
///
/// The keys and indices never change, so the data plane may seal and open with them outside the engine's
/// lock. ``sendCounter`` and the replay window are mutable and guarded by whoever serializes the engine.
public final class Keypair: @unchecked Sendable {
    /// Written only by `init` and `deinit`, so reading it without a lock is safe.
    private(set) var sendKey: Key32
    private(set) var receiveKey: Key32
    /// Our index: the receiver index peers put in transport messages for this keypair.
    public let localIndex: UInt32
    /// The peer's index: what we put in the transport messages we send.
    public let remoteIndex: UInt32
    let createdAt: Instant
    /// True if we sent the initiation; only the initiator rekeys on age (whitepaper §6.2).
    let isInitiator: Bool

    /// Next counter to send. Guarded by the engine's serialization.
    var sendCounter: UInt64 = 0
    /// Guarded by the engine's serialization.
    var replayWindow = ReplayWindow()

    init(
        keys: NoiseHandshake.SessionKeys, localIndex: UInt32, remoteIndex: UInt32, createdAt: Instant, isInitiator: Bool
    ) {
        self.sendKey = keys.sendKey
        self.receiveKey = keys.receiveKey
        self.localIndex = localIndex
        self.remoteIndex = remoteIndex
        self.createdAt = createdAt
        self.isInitiator = isInitiator
    }

    deinit {
        sendKey.wipe()
        receiveKey.wipe()
    }

    /// True while the keypair may still be used to send (whitepaper §6.1: reject after time and messages).
    func canSend(at now: Instant) -> Bool {
        sendCounter < Specification.rejectAfterMessages
            && now.duration(since: createdAt) < Specification.rejectAfterTime
    }

    /// True while received packets under this keypair are still accepted.
    func canReceive(at now: Instant) -> Bool {
        now.duration(since: createdAt) < Specification.rejectAfterTime
    }
}
