public import CryptoPrimitives

/// The sending side of WireGuard's MAC and cookie mechanism (whitepaper §5.4.4, §5.4.7), one per peer.
///
/// Fills mac1 (and mac2 while a fresh cookie is held) of every handshake message we send to a peer, and
/// accepts the cookie replies that peer sends back. Not safe for concurrent use.
struct CookieGenerator {
    static let labelMAC1 = Array("mac1----".utf8)
    static let labelCookie = Array("cookie--".utf8)

    /// HASH(LABEL_MAC1 ‖ Spub)
    static func mac1Key(for publicKey: Key32) -> Key32 { BLAKE2s.hash(labelMAC1, publicKey.bytes) }
    /// HASH(LABEL_COOKIE ‖ Spub)
    static func cookieKey(for publicKey: Key32) -> Key32 { BLAKE2s.hash(labelCookie, publicKey.bytes) }

    private let peerMAC1Key: Key32
    private let peerCookieKey: Key32
    /// The mac1 of the last handshake message sent: a cookie reply must be bound to it.
    private var lastMAC1: [UInt8]?
    private var cookie: [UInt8]?
    private var cookieReceivedAt: Instant?

    init(peerPublicKey: Key32) {
        self.peerMAC1Key = CookieGenerator.mac1Key(for: peerPublicKey)
        self.peerCookieKey = CookieGenerator.cookieKey(for: peerPublicKey)
    }

    /// Writes mac1 and mac2 into the last 32 bytes of a handshake message.
    mutating func addMACs(to message: inout [UInt8], now: Instant) {
        let mac1Offset = message.count - 32
        let mac2Offset = message.count - 16
        let mac1 = BLAKE2s.mac(key: peerMAC1Key.bytes, input: Array(message[0..<mac1Offset]))
        message.replaceSubrange(mac1Offset..<mac2Offset, with: mac1)
        lastMAC1 = mac1
        var mac2 = [UInt8](repeating: 0, count: 16)
        if let cookie, let at = cookieReceivedAt, now.duration(since: at) < Specification.cookieRefreshTime {
            mac2 = BLAKE2s.mac(key: cookie, input: Array(message[0..<mac2Offset]))
        }
        message.replaceSubrange(mac2Offset..<message.count, with: mac2)
    }

    /// Decrypts a cookie reply bound to our last mac1; false if it does not authenticate.
    mutating func consumeCookieReply(_ message: [UInt8], now: Instant) -> Bool {
        guard let lastMAC1 else { return false }
        let L = CookieReplyLayout.self
        let nonce = Array(message[L.nonce..<L.encryptedCookie])
        guard
            let opened = XChaCha20Poly1305.open(
                key: peerCookieKey, nonce: nonce, ciphertext: message[L.encryptedCookie..<L.size], aad: lastMAC1),
            opened.count == 16
        else { return false }
        cookie = opened
        cookieReceivedAt = now
        return true
    }
}

/// The receiving side: checks mac1 and mac2 on handshake messages sent to us and makes cookie replies
/// when under load (whitepaper §5.3, §5.4.7). One per interface. Not safe for concurrent use.
struct CookieChecker {
    private let mac1Key: Key32
    private let cookieKey: Key32
    private var secret = Key32.zero
    private var secretSetAt: Instant?

    init(identity: StaticIdentity) {
        self.mac1Key = identity.mac1Key
        self.cookieKey = identity.cookieKey
    }

    /// True if the message's mac1 is MAC(HASH(LABEL_MAC1 ‖ our public key), message before mac1).
    func isMAC1Valid(_ message: [UInt8]) -> Bool {
        let mac1Offset = message.count - 32
        let expected = BLAKE2s.mac(key: mac1Key.bytes, input: Array(message[0..<mac1Offset]))
        return SecureMemory.constantTimeEquals(expected, Array(message[mac1Offset..<(mac1Offset + 16)]))
    }

    /// True if mac2 proves the sender holds a cookie we gave to `source` within the last two minutes.
    mutating func isMAC2Valid(_ message: [UInt8], source: [UInt8], now: Instant, random: any RandomSource) -> Bool {
        let mac2Offset = message.count - 16
        let cookie = currentCookie(for: source, now: now, random: random)
        let expected = BLAKE2s.mac(key: cookie, input: Array(message[0..<mac2Offset]))
        return SecureMemory.constantTimeEquals(expected, Array(message[mac2Offset...]))
    }

    /// A cookie reply to `message` (whose sender index is `receiverIndex`), sealed to its mac1.
    mutating func makeCookieReply(
        to message: [UInt8], receiverIndex: UInt32, source: [UInt8], now: Instant, random: any RandomSource
    ) -> [UInt8] {
        let cookie = currentCookie(for: source, now: now, random: random)
        var nonce = [UInt8](repeating: 0, count: XChaCha20Poly1305.nonceByteCount)
        nonce.withUnsafeMutableBytes { random.fill($0) }
        let mac1Offset = message.count - 32
        let mac1 = Array(message[mac1Offset..<(mac1Offset + 16)])
        var reply = [UInt8]()
        reply.reserveCapacity(CookieReplyLayout.size)
        reply.appendLittleEndian(MessageType.cookieReply.rawValue)
        reply.appendLittleEndian(receiverIndex)
        reply += nonce
        reply += XChaCha20Poly1305.seal(key: cookieKey, nonce: nonce, plaintext: cookie, aad: mac1)
        return reply
    }

    /// cookie = MAC(Rm, Am'), with Rm replaced every two minutes.
    private mutating func currentCookie(for source: [UInt8], now: Instant, random: any RandomSource) -> [UInt8] {
        if secretSetAt == nil || now.duration(since: secretSetAt!) >= Specification.cookieRefreshTime {
            secret = random.nextKey()
            secretSetAt = now
        }
        return BLAKE2s.mac(key: secret.bytes, input: source)
    }
}
