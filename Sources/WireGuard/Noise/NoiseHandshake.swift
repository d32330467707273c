public import CryptoPrimitives

/// The Noise_IKpsk2 handshake of the WireGuard whitepaper §5.4.2-§5.4.5, as pure functions.
///
/// Each function takes everything it needs (keys, indices, randomness already drawn, the timestamp) and
/// returns bytes and state; nothing here reads a clock or touches a socket. The comments quote the
/// whitepaper's pseudo-code line by line. MAC fields are left zero: ``CookieGenerator`` fills them.
enum NoiseHandshake {
    /// Construction = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".
    static let construction = Array("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".utf8)
    /// Identifier = "WireGuard v1 zx2c4 Jason@zx2c4.com".
    static let identifier = Array("WireGuard v1 zx2c4 Jason@zx2c4.com".utf8)
    /// Ci = HASH(Construction)
    static let initialChainingKey = BLAKE2s.hash(construction)
    /// Hi = HASH(Ci ‖ Identifier)
    static let initialHash = BLAKE2s.hash(initialChainingKey.bytes, identifier)

    /// What the initiator remembers between sending an initiation and receiving the response.
    struct InitiatorState {
        var localIndex: UInt32
        var ephemeralPrivate: Key32
        var chainingKey: Key32
        var hash: Key32

        mutating func wipe() {
            ephemeralPrivate.wipe()
            chainingKey.wipe()
            hash.wipe()
        }
    }

    /// A successfully decrypted initiation, before the responder answers it.
    struct ConsumedInitiation {
        var initiatorStatic: Key32
        var initiatorEphemeral: Key32
        var senderIndex: UInt32
        var timestamp: TAI64N
        var chainingKey: Key32
        var hash: Key32

        mutating func wipe() {
            chainingKey.wipe()
            hash.wipe()
        }
    }

    /// Transport keys derived at the end of a handshake.
    struct SessionKeys {
        var sendKey: Key32
        var receiveKey: Key32
    }

    // MARK: - Initiation

    static func createInitiation(
        identity: StaticIdentity, responderStatic: Key32, staticStatic: Key32, localIndex: UInt32,
        ephemeralPrivate: Key32, timestamp: TAI64N
    ) -> (message: [UInt8], state: InitiatorState)? {
        let aead = ChaCha20Poly1305()
        // Hi = HASH(Hi ‖ Spub_r)
        var hash = BLAKE2s.hash(initialHash.bytes, responderStatic.bytes)
        // Ci = KDF1(Ci, Ei_pub)
        let ephemeralPublic = X25519.publicKey(for: ephemeralPrivate)
        var chainingKey = HKDF.derive1(key: initialChainingKey, input: ephemeralPublic.bytes)
        // Hi = HASH(Hi ‖ msg.unencrypted_ephemeral)
        hash = BLAKE2s.hash(hash.bytes, ephemeralPublic.bytes)
        // (Ci, k) = KDF2(Ci, DH(Ei_priv, Spub_r))
        guard var es = X25519.sharedSecret(privateKey: ephemeralPrivate, publicKey: responderStatic) else { return nil }
        var (ck1, k1) = HKDF.derive2(key: chainingKey, input: es.bytes)
        es.wipe()
        chainingKey = ck1
        // msg.encrypted_static = AEAD(k, 0, Spub_i, Hi)
        let encryptedStatic = aead.seal(key: k1, counter: 0, plaintext: identity.publicKey.bytes, aad: hash.bytes)
        k1.wipe()
        ck1.wipe()
        // Hi = HASH(Hi ‖ msg.encrypted_static)
        hash = BLAKE2s.hash(hash.bytes, encryptedStatic)
        // (Ci, k) = KDF2(Ci, DH(Si_priv, Spub_r))
        var (ck2, k2) = HKDF.derive2(key: chainingKey, input: staticStatic.bytes)
        chainingKey = ck2
        // msg.encrypted_timestamp = AEAD(k, 0, TAI64N(), Hi)
        let encryptedTimestamp = aead.seal(key: k2, counter: 0, plaintext: timestamp.bytes, aad: hash.bytes)
        k2.wipe()
        ck2.wipe()
        // Hi = HASH(Hi ‖ msg.encrypted_timestamp)
        hash = BLAKE2s.hash(hash.bytes, encryptedTimestamp)

        var message = [UInt8]()
        message.reserveCapacity(HandshakeInitiationLayout.size)
        message.appendLittleEndian(MessageType.handshakeInitiation.rawValue)
        message.appendLittleEndian(localIndex)
        message += ephemeralPublic.bytes
        message += encryptedStatic
        message += encryptedTimestamp
        message += [UInt8](repeating: 0, count: 32)  // mac1, mac2
        let state = InitiatorState(
            localIndex: localIndex, ephemeralPrivate: ephemeralPrivate, chainingKey: chainingKey, hash: hash)
        return (message, state)
    }

    /// Decrypts an initiation addressed to `identity`. The caller has checked type, length and mac1.
    static func consumeInitiation(_ message: [UInt8], identity: StaticIdentity) -> ConsumedInitiation? {
        let aead = ChaCha20Poly1305()
        let L = HandshakeInitiationLayout.self
        let senderIndex = message.littleEndianUInt32(at: L.senderIndex)
        let ephemeralBytes = Array(message[L.unencryptedEphemeral..<L.encryptedStatic])
        guard let initiatorEphemeral = Key32(bytes: ephemeralBytes) else { return nil }
        // Hi = HASH(HASH(Ci ‖ Identifier) ‖ Spub_r)
        var hash = BLAKE2s.hash(initialHash.bytes, identity.publicKey.bytes)
        // Ci = KDF1(Ci, msg.unencrypted_ephemeral)
        var chainingKey = HKDF.derive1(key: initialChainingKey, input: ephemeralBytes)
        hash = BLAKE2s.hash(hash.bytes, ephemeralBytes)
        // (Ci, k) = KDF2(Ci, DH(Sr_priv, Ei_pub))
        guard var se = X25519.sharedSecret(privateKey: identity.privateKey, publicKey: initiatorEphemeral) else {
            return nil
        }
        var (ck1, k1) = HKDF.derive2(key: chainingKey, input: se.bytes)
        se.wipe()
        chainingKey = ck1
        ck1.wipe()
        let encryptedStatic = Array(message[L.encryptedStatic..<L.encryptedTimestamp])
        let staticPlain = aead.open(key: k1, counter: 0, ciphertext: encryptedStatic, aad: hash.bytes)
        k1.wipe()
        guard let staticPlain, let initiatorStatic = Key32(bytes: staticPlain) else { return nil }
        hash = BLAKE2s.hash(hash.bytes, encryptedStatic)
        // (Ci, k) = KDF2(Ci, DH(Sr_priv, Si_pub))
        guard var ss = X25519.sharedSecret(privateKey: identity.privateKey, publicKey: initiatorStatic) else {
            return nil
        }
        var (ck2, k2) = HKDF.derive2(key: chainingKey, input: ss.bytes)
        ss.wipe()
        chainingKey = ck2
        ck2.wipe()
        let encryptedTimestamp = Array(message[L.encryptedTimestamp..<L.mac1])
        let timestampPlain = aead.open(key: k2, counter: 0, ciphertext: encryptedTimestamp, aad: hash.bytes)
        k2.wipe()
        guard let timestampPlain, let timestamp = TAI64N(bytes: timestampPlain) else { return nil }
        hash = BLAKE2s.hash(hash.bytes, encryptedTimestamp)
        return ConsumedInitiation(
            initiatorStatic: initiatorStatic, initiatorEphemeral: initiatorEphemeral, senderIndex: senderIndex,
            timestamp: timestamp, chainingKey: chainingKey, hash: hash)
    }

    // MARK: - Response

    static func createResponse(
        to initiation: ConsumedInitiation, presharedKey: Key32, localIndex: UInt32, ephemeralPrivate: Key32
    ) -> (message: [UInt8], keys: SessionKeys)? {
        var chainingKey = initiation.chainingKey
        var hash = initiation.hash
        defer {
            chainingKey.wipe()
            hash.wipe()
        }
        // Cr = KDF1(Cr, Er_pub); Hr = HASH(Hr ‖ msg.unencrypted_ephemeral)
        let ephemeralPublic = X25519.publicKey(for: ephemeralPrivate)
        chainingKey = HKDF.derive1(key: chainingKey, input: ephemeralPublic.bytes)
        hash = BLAKE2s.hash(hash.bytes, ephemeralPublic.bytes)
        // Cr = KDF1(Cr, DH(Er_priv, Ei_pub))
        guard var ee = X25519.sharedSecret(privateKey: ephemeralPrivate, publicKey: initiation.initiatorEphemeral)
        else { return nil }
        chainingKey = HKDF.derive1(key: chainingKey, input: ee.bytes)
        ee.wipe()
        // Cr = KDF1(Cr, DH(Er_priv, Si_pub))
        guard var se = X25519.sharedSecret(privateKey: ephemeralPrivate, publicKey: initiation.initiatorStatic)
        else { return nil }
        chainingKey = HKDF.derive1(key: chainingKey, input: se.bytes)
        se.wipe()
        // (Cr, τ, k) = KDF3(Cr, Q)
        var (ck, tau, k) = HKDF.derive3(key: chainingKey, input: presharedKey.bytes)
        chainingKey = ck
        ck.wipe()
        // Hr = HASH(Hr ‖ τ)
        hash = BLAKE2s.hash(hash.bytes, tau.bytes)
        tau.wipe()
        // msg.encrypted_nothing = AEAD(k, 0, ε, Hr)
        let encryptedNothing = ChaCha20Poly1305().seal(key: k, counter: 0, plaintext: [], aad: hash.bytes)
        k.wipe()
        hash = BLAKE2s.hash(hash.bytes, encryptedNothing)

        var message = [UInt8]()
        message.reserveCapacity(HandshakeResponseLayout.size)
        message.appendLittleEndian(MessageType.handshakeResponse.rawValue)
        message.appendLittleEndian(localIndex)
        message.appendLittleEndian(initiation.senderIndex)
        message += ephemeralPublic.bytes
        message += encryptedNothing
        message += [UInt8](repeating: 0, count: 32)
        // (Tr_recv, Tr_send) = KDF2(Cr, ε)
        let (receive, send) = HKDF.derive2(key: chainingKey, input: [])
        return (message, SessionKeys(sendKey: send, receiveKey: receive))
    }

    /// Completes the initiator's side. The caller has matched the receiver index and checked mac1.
    static func consumeResponse(
        _ message: [UInt8], state: InitiatorState, identity: StaticIdentity, presharedKey: Key32
    ) -> SessionKeys? {
        let L = HandshakeResponseLayout.self
        let ephemeralBytes = Array(message[L.unencryptedEphemeral..<L.encryptedNothing])
        guard let responderEphemeral = Key32(bytes: ephemeralBytes) else { return nil }
        var chainingKey = state.chainingKey
        var hash = state.hash
        defer {
            chainingKey.wipe()
            hash.wipe()
        }
        chainingKey = HKDF.derive1(key: chainingKey, input: ephemeralBytes)
        hash = BLAKE2s.hash(hash.bytes, ephemeralBytes)
        // Ci = KDF1(Ci, DH(Ei_priv, Er_pub))
        guard var ee = X25519.sharedSecret(privateKey: state.ephemeralPrivate, publicKey: responderEphemeral)
        else { return nil }
        chainingKey = HKDF.derive1(key: chainingKey, input: ee.bytes)
        ee.wipe()
        // Ci = KDF1(Ci, DH(Si_priv, Er_pub))
        guard var se = X25519.sharedSecret(privateKey: identity.privateKey, publicKey: responderEphemeral)
        else { return nil }
        chainingKey = HKDF.derive1(key: chainingKey, input: se.bytes)
        se.wipe()
        var (ck, tau, k) = HKDF.derive3(key: chainingKey, input: presharedKey.bytes)
        chainingKey = ck
        ck.wipe()
        hash = BLAKE2s.hash(hash.bytes, tau.bytes)
        tau.wipe()
        let encryptedNothing = Array(message[L.encryptedNothing..<L.mac1])
        let opened = ChaCha20Poly1305().open(key: k, counter: 0, ciphertext: encryptedNothing, aad: hash.bytes)
        k.wipe()
        guard opened != nil else { return nil }
        // (Ti_send, Ti_recv) = KDF2(Ci, ε)
        let (send, receive) = HKDF.derive2(key: chainingKey, input: [])
        return SessionKeys(sendKey: send, receiveKey: receive)
    }
}

/// This interface's long-term key pair, and the values derived from it once.
public struct StaticIdentity: Sendable {
    public let privateKey: Key32
    public let publicKey: Key32
    /// HASH(LABEL_MAC1 ‖ Spub): the key others use for mac1 of messages to us.
    let mac1Key: Key32
    /// HASH(LABEL_COOKIE ‖ Spub): the key that seals cookie replies we send.
    let cookieKey: Key32

    public init(privateKey: Key32) {
        self.privateKey = privateKey
        self.publicKey = X25519.publicKey(for: privateKey)
        self.mac1Key = CookieGenerator.mac1Key(for: publicKey)
        self.cookieKey = CookieGenerator.cookieKey(for: publicKey)
    }
}
