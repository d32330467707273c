import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

/// Bytes from a hex string (test vectors only).
func hexBytes(_ text: String) -> [UInt8] {
    let utf8 = Array(text.utf8)
    precondition(utf8.count % 2 == 0)
    func nibble(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: preconditionFailure("not hex")
        }
    }
    return stride(from: 0, to: utf8.count, by: 2).map { nibble(utf8[$0]) << 4 | nibble(utf8[$0 + 1]) }
}

/// Noise_IKpsk2 as pure functions (whitepaper §5.4.2-§5.4.5), without an engine.
@Suite("Noise handshake")
struct NoiseHandshakeTests {
    /// A transcript computed by an independent Python implementation of the whitepaper (BLAKE2s and
    /// ChaCha20-Poly1305 from hashlib and pyca/cryptography), from fixed keys, indices and timestamp.
    enum Vector {
        static let initiatorStatic = "0002030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f60"
        static let responderStatic = "2022232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40"
        static let initiatorEphemeral = "4042434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60"
        static let responderEphemeral = "6062636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f40"
        static let presharedKey = "c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7"
        static let senderIndex: UInt32 = 0x1122_3344
        static let responderIndex: UInt32 = 0xaabb_ccdd
        static let timestamp = "400000006553f10012000000"
        static let initiation =
            "010000004433221164b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466158a0e4ca242d151ca97ab"
            + "90159a98b67e616625e68b4065d357376b6598e644ad7d678c0295d22de4cb43d5135581ed36346bfa7cf42a183339f893bd"
            + "fb3050ff87c30dcb033452aa49171753976971afa1670c571e81bc0adbd63700000000000000000000000000000000"
        static let response =
            "02000000ddccbbaa44332211244fe3b963e899dd295baffce248d3530f3a9a7479ba063002680ebfe7adad4978934e3b2fe240"
            + "71e7634abdb1945de6951f8f70f7e4c549f0d31e5577848f4900000000000000000000000000000000"
        static let initiatorSend = "75b7e787e2d8889509035f7861b3dfab4e8a204b52a2d5d29bcf07b8004d1d46"
        static let initiatorReceive = "640efc894e6d549318207d6271651ee436e484c89dd9a1d7b8099db91103bf1d"
        /// The initiator's first transport message: bytes 0..<20 at counter 0, padded to 32.
        static let transport =
            "04000000ddccbbaa0000000000000000c6df2dfea3f953d812cfbd7628d83900a703cb34474ef521db49e5434c1af3fc"
            + "3a4314cf9546c4e7eb3ea14346d9f1e3"
    }

    @Test("the initial chaining key and hash are the published constants")
    func initialConstants() {
        #expect(
            NoiseHandshake.initialChainingKey.hex == "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36")
        #expect(NoiseHandshake.initialHash.hex == "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3")
    }

    @Test("initiation, response, transport keys and the first transport message match an independent transcript")
    func knownAnswer() throws {
        let initiator = StaticIdentity(privateKey: try #require(Key32(hex: Vector.initiatorStatic)))
        let responder = StaticIdentity(privateKey: try #require(Key32(hex: Vector.responderStatic)))
        let psk = try #require(Key32(hex: Vector.presharedKey))
        let staticStatic = try #require(
            X25519.sharedSecret(privateKey: initiator.privateKey, publicKey: responder.publicKey))
        let timestamp = try #require(TAI64N(bytes: hexBytes(Vector.timestamp)))
        let now = Instant(nanoseconds: 1)
        let initiatorEphemeral = try #require(Key32(hex: Vector.initiatorEphemeral))
        let responderEphemeral = try #require(Key32(hex: Vector.responderEphemeral))

        var (initiation, state) = try #require(
            NoiseHandshake.createInitiation(
                identity: initiator, responderStatic: responder.publicKey, staticStatic: staticStatic,
                localIndex: Vector.senderIndex, ephemeralPrivate: initiatorEphemeral,
                timestamp: timestamp))
        var toResponder = CookieGenerator(peerPublicKey: responder.publicKey)
        toResponder.addMACs(to: &initiation, now: now)
        #expect(initiation == hexBytes(Vector.initiation))

        let consumed = try #require(NoiseHandshake.consumeInitiation(initiation, identity: responder))
        #expect(consumed.initiatorStatic == initiator.publicKey)
        #expect(consumed.senderIndex == Vector.senderIndex)
        #expect(consumed.timestamp == timestamp)
        var (response, responderKeys) = try #require(
            NoiseHandshake.createResponse(
                to: consumed, presharedKey: psk, localIndex: Vector.responderIndex,
                ephemeralPrivate: responderEphemeral))
        var toInitiator = CookieGenerator(peerPublicKey: initiator.publicKey)
        toInitiator.addMACs(to: &response, now: now)
        #expect(response == hexBytes(Vector.response))

        let initiatorKeys = try #require(
            NoiseHandshake.consumeResponse(response, state: state, identity: initiator, presharedKey: psk))
        #expect(initiatorKeys.sendKey.hex == Vector.initiatorSend)
        #expect(initiatorKeys.receiveKey.hex == Vector.initiatorReceive)
        #expect(responderKeys.sendKey.hex == Vector.initiatorReceive)
        #expect(responderKeys.receiveKey.hex == Vector.initiatorSend)
        state.wipe()

        let keypair = Keypair(
            keys: initiatorKeys, localIndex: Vector.senderIndex, remoteIndex: Vector.responderIndex, createdAt: now,
            isInitiator: true)
        let ticket = SendTicket(keypair: keypair, counter: 0, endpoint: Endpoint("192.0.2.1:1")!)
        let datagram = EnginePair.seal(Array(0..<20), ticket: ticket, mtu: 1420, aead: ChaCha20Poly1305())
        #expect(datagram == hexBytes(Vector.transport))
    }

    static func identities(seed: UInt64) -> (StaticIdentity, StaticIdentity, SeededRandom) {
        let random = SeededRandom(seed: seed)
        let a = StaticIdentity(privateKey: X25519.generatePrivateKey(using: random))
        let b = StaticIdentity(privateKey: X25519.generatePrivateKey(using: random))
        return (a, b, random)
    }

    @Test("both sides derive crossed transport keys, with and without a preshared key", arguments: [false, true])
    func matchingKeys(withPSK: Bool) throws {
        let (initiator, responder, random) = Self.identities(seed: 21)
        let psk = withPSK ? random.nextKey() : .zero
        let staticStatic = try #require(
            X25519.sharedSecret(privateKey: initiator.privateKey, publicKey: responder.publicKey))
        let timestamp = TAI64N(WallTime(seconds: 1_767_225_600, nanoseconds: 0))
        let (initiation, state) = try #require(
            NoiseHandshake.createInitiation(
                identity: initiator, responderStatic: responder.publicKey, staticStatic: staticStatic, localIndex: 7,
                ephemeralPrivate: X25519.generatePrivateKey(using: random), timestamp: timestamp))
        #expect(initiation.count == HandshakeInitiationLayout.size)
        #expect(initiation[0..<4] == [1, 0, 0, 0])
        #expect(initiation[4..<8] == [7, 0, 0, 0])
        #expect(initiation[HandshakeInitiationLayout.mac1...].allSatisfy { $0 == 0 }, "MACs are left to the caller")

        let consumed = try #require(NoiseHandshake.consumeInitiation(initiation, identity: responder))
        #expect(consumed.initiatorStatic == initiator.publicKey)
        #expect(consumed.senderIndex == 7)
        #expect(consumed.timestamp == timestamp)
        #expect(consumed.chainingKey == state.chainingKey)
        #expect(consumed.hash == state.hash)

        let (response, responderKeys) = try #require(
            NoiseHandshake.createResponse(
                to: consumed, presharedKey: psk, localIndex: 9,
                ephemeralPrivate: X25519.generatePrivateKey(using: random)))
        #expect(response.count == HandshakeResponseLayout.size)
        #expect(response[0..<12] == [2, 0, 0, 0, 9, 0, 0, 0, 7, 0, 0, 0])
        let initiatorKeys = try #require(
            NoiseHandshake.consumeResponse(response, state: state, identity: initiator, presharedKey: psk))
        #expect(initiatorKeys.sendKey == responderKeys.receiveKey)
        #expect(initiatorKeys.receiveKey == responderKeys.sendKey)
        #expect(initiatorKeys.sendKey != initiatorKeys.receiveKey)
    }

    @Test("a mismatched preshared key makes the response fail to open")
    func mismatchedPSK() throws {
        let (initiator, responder, random) = Self.identities(seed: 22)
        let staticStatic = try #require(
            X25519.sharedSecret(privateKey: initiator.privateKey, publicKey: responder.publicKey))
        let (initiation, state) = try #require(
            NoiseHandshake.createInitiation(
                identity: initiator, responderStatic: responder.publicKey, staticStatic: staticStatic, localIndex: 1,
                ephemeralPrivate: X25519.generatePrivateKey(using: random),
                timestamp: TAI64N(seconds: 1, nanoseconds: 0)))
        let consumed = try #require(NoiseHandshake.consumeInitiation(initiation, identity: responder))
        let (response, _) = try #require(
            NoiseHandshake.createResponse(
                to: consumed, presharedKey: random.nextKey(), localIndex: 2,
                ephemeralPrivate: X25519.generatePrivateKey(using: random)))
        #expect(NoiseHandshake.consumeResponse(response, state: state, identity: initiator, presharedKey: .zero) == nil)
    }

    @Test("an initiation for another responder, or with a low-order ephemeral, does not decrypt")
    func wrongResponder() throws {
        let (initiator, responder, random) = Self.identities(seed: 23)
        let stranger = StaticIdentity(privateKey: X25519.generatePrivateKey(using: random))
        let staticStatic = try #require(
            X25519.sharedSecret(privateKey: initiator.privateKey, publicKey: responder.publicKey))
        let (initiation, _) = try #require(
            NoiseHandshake.createInitiation(
                identity: initiator, responderStatic: responder.publicKey, staticStatic: staticStatic, localIndex: 1,
                ephemeralPrivate: X25519.generatePrivateKey(using: random),
                timestamp: TAI64N(seconds: 1, nanoseconds: 0)))
        #expect(NoiseHandshake.consumeInitiation(initiation, identity: stranger) == nil)

        var lowOrder = initiation
        for i in HandshakeInitiationLayout.unencryptedEphemeral..<HandshakeInitiationLayout.encryptedStatic {
            lowOrder[i] = 0
        }
        #expect(NoiseHandshake.consumeInitiation(lowOrder, identity: responder) == nil)
    }

    @Test("an initiation to a low-order responder key cannot be created")
    func lowOrderResponderKey() {
        let (initiator, _, random) = Self.identities(seed: 24)
        let created = NoiseHandshake.createInitiation(
            identity: initiator, responderStatic: .zero, staticStatic: random.nextKey(), localIndex: 1,
            ephemeralPrivate: X25519.generatePrivateKey(using: random), timestamp: TAI64N(seconds: 1, nanoseconds: 0))
        #expect(created == nil)
    }
}
