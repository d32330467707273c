import CryptoPrimitives
import MeshgateTestSupport
import Testing

@testable import WireGuard

/// mac1, mac2 and cookie replies (whitepaper §5.4.4, §5.4.7) between one peer's generator and the
/// receiving interface's checker.
@Suite("MACs and cookies")
struct CookieTests {
    static let start = Instant(nanoseconds: 100_000_000_000)
    static let sourceA: [UInt8] = [192, 0, 2, 1, 0xca, 0x6c]
    static let sourceB: [UInt8] = [192, 0, 2, 2, 0xca, 0x6c]

    /// A class so that its mutating internals can be called inside `#expect`.
    final class Fixture {
        let random: SeededRandom
        let receiver: StaticIdentity
        var checker: CookieChecker
        var generator: CookieGenerator
        var message: [UInt8]

        init(length: Int = HandshakeInitiationLayout.size) {
            let random = SeededRandom(seed: 31)
            self.random = random
            let receiver = StaticIdentity(privateKey: X25519.generatePrivateKey(using: random))
            self.receiver = receiver
            checker = CookieChecker(identity: receiver)
            generator = CookieGenerator(peerPublicKey: receiver.publicKey)
            var message = [UInt8](repeating: 0, count: length)
            message.withUnsafeMutableBytes { random.fill($0) }
            message[0..<4] = [1, 0, 0, 0]
            self.message = message
        }

        var mac2: ArraySlice<UInt8> { message[(message.count - 16)...] }

        func isMAC2Valid(_ message: [UInt8], source: [UInt8], now: Instant) -> Bool {
            checker.isMAC2Valid(message, source: source, now: now, random: random)
        }

        func consume(_ reply: [UInt8], now: Instant) -> Bool { generator.consumeCookieReply(reply, now: now) }

        /// Has the checker answer `message` with a cookie reply for `source` and the generator consume it.
        func obtainCookie(source: [UInt8], at now: Instant) -> Bool {
            let reply = checker.makeCookieReply(
                to: message, receiverIndex: 1, source: source, now: now, random: random)
            return generator.consumeCookieReply(reply, now: now)
        }
    }

    @Test(
        "mac1 authenticates every byte before it, for initiations and responses",
        arguments: [HandshakeInitiationLayout.size, HandshakeResponseLayout.size])
    func mac1(length: Int) {
        let fixture = Fixture(length: length)
        fixture.generator.addMACs(to: &fixture.message, now: Self.start)
        #expect(fixture.checker.isMAC1Valid(fixture.message))
        #expect(fixture.mac2.allSatisfy { $0 == 0 }, "no cookie: mac2 is zero")
        var failures: [Int] = []
        for offset in 0..<(length - 16) {
            var tampered = fixture.message
            tampered[offset] ^= 0x80
            if fixture.checker.isMAC1Valid(tampered) { failures.append(offset) }
        }
        #expect(failures.isEmpty, "mac1 still valid after changing bytes \(failures)")
        var tamperedMAC2 = fixture.message
        tamperedMAC2[length - 1] ^= 1
        #expect(fixture.checker.isMAC1Valid(tamperedMAC2), "mac1 does not cover mac2")

        let stranger = CookieChecker(
            identity: StaticIdentity(privateKey: X25519.generatePrivateKey(using: fixture.random)))
        #expect(!stranger.isMAC1Valid(fixture.message), "mac1 is keyed by the receiver's public key")
    }

    @Test("after a cookie reply, mac2 proves the cookie for the same source and no other")
    func mac2() {
        let fixture = Fixture()
        fixture.generator.addMACs(to: &fixture.message, now: Self.start)
        #expect(!fixture.isMAC2Valid(fixture.message, source: Self.sourceA, now: Self.start))
        #expect(fixture.obtainCookie(source: Self.sourceA, at: Self.start))

        fixture.generator.addMACs(to: &fixture.message, now: Self.start + .seconds(1))
        #expect(!fixture.mac2.allSatisfy { $0 == 0 })
        #expect(fixture.checker.isMAC1Valid(fixture.message))
        #expect(fixture.isMAC2Valid(fixture.message, source: Self.sourceA, now: Self.start + .seconds(1)))
        #expect(!fixture.isMAC2Valid(fixture.message, source: Self.sourceB, now: Self.start + .seconds(1)))
        var tampered = fixture.message
        tampered[10] ^= 1
        #expect(!fixture.isMAC2Valid(tampered, source: Self.sourceA, now: Self.start + .seconds(1)))
    }

    @Test("a held cookie is used for mac2 only for cookieRefreshTime")
    func cookieLifetime() {
        let fixture = Fixture()
        fixture.generator.addMACs(to: &fixture.message, now: Self.start)
        #expect(fixture.obtainCookie(source: Self.sourceA, at: Self.start))
        fixture.generator.addMACs(
            to: &fixture.message, now: Self.start + (Specification.cookieRefreshTime - .milliseconds(1)))
        #expect(!fixture.mac2.allSatisfy { $0 == 0 })
        fixture.generator.addMACs(to: &fixture.message, now: Self.start + Specification.cookieRefreshTime)
        #expect(fixture.mac2.allSatisfy { $0 == 0 })
    }

    @Test("the checker's secret changes every cookieRefreshTime, invalidating cookies made with the old one")
    func secretRotation() {
        let fixture = Fixture()
        fixture.generator.addMACs(to: &fixture.message, now: Self.start)
        #expect(fixture.obtainCookie(source: Self.sourceA, at: Self.start))
        let later = Self.start + (Specification.cookieRefreshTime - .seconds(1))
        fixture.generator.addMACs(to: &fixture.message, now: later)
        #expect(fixture.isMAC2Valid(fixture.message, source: Self.sourceA, now: later))
        let rotated = Self.start + Specification.cookieRefreshTime
        #expect(!fixture.isMAC2Valid(fixture.message, source: Self.sourceA, now: rotated))
    }

    @Test("a cookie reply is accepted only if bound to the mac1 last sent and sealed by the right peer")
    func cookieReplyBinding() {
        let fixture = Fixture()
        // Nothing sent yet: nothing to bind to.
        let early = fixture.checker.makeCookieReply(
            to: fixture.message, receiverIndex: 1, source: Self.sourceA, now: Self.start, random: fixture.random)
        #expect(!fixture.consume(early, now: Self.start))

        fixture.generator.addMACs(to: &fixture.message, now: Self.start)
        var other = fixture.message
        other[20] ^= 1
        var otherGenerator = CookieGenerator(peerPublicKey: fixture.receiver.publicKey)
        otherGenerator.addMACs(to: &other, now: Self.start)
        let forOtherMessage = fixture.checker.makeCookieReply(
            to: other, receiverIndex: 1, source: Self.sourceA, now: Self.start, random: fixture.random)
        #expect(!fixture.consume(forOtherMessage, now: Self.start))

        let strangerChecker = CookieChecker(
            identity: StaticIdentity(privateKey: X25519.generatePrivateKey(using: fixture.random)))
        var stranger = strangerChecker
        let fromStranger = stranger.makeCookieReply(
            to: fixture.message, receiverIndex: 1, source: Self.sourceA, now: Self.start, random: fixture.random)
        #expect(!fixture.consume(fromStranger, now: Self.start))

        let genuine = fixture.checker.makeCookieReply(
            to: fixture.message, receiverIndex: 77, source: Self.sourceA, now: Self.start, random: fixture.random)
        #expect(genuine.count == CookieReplyLayout.size)
        #expect(genuine[0..<8] == [3, 0, 0, 0, 77, 0, 0, 0])
        #expect(fixture.consume(genuine, now: Self.start))
    }
}
