import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

/// Denial-of-service mitigation (whitepaper §5.3, §5.4.7): under load, handshake messages need a mac2 made
/// with a cookie bound to the sender's address, and each source address is rate limited.
@Suite("Cookies and rate limiting under load")
struct UnderLoadTests {
    static let endpointPairs: [(Endpoint, Endpoint)] = [
        (Endpoint("192.0.2.1:51820")!, Endpoint("198.51.100.2:51821")!),
        (Endpoint("[2001:db8::1]:51820")!, Endpoint("[2001:db8::2]:51821")!),
    ]

    static func pair(endpoints: (Endpoint, Endpoint)) -> EnginePair {
        var configuration = EnginePair.Configuration()
        configuration.endpointA = endpoints.0
        configuration.endpointB = endpoints.1
        return EnginePair(configuration)
    }

    /// B under load; A's first initiation gets a cookie reply, and A re-sends at once with mac2: that
    /// initiation, taken out of flight.
    static func initiationResentWithCookie(_ pair: EnginePair) throws -> EnginePair.Datagram {
        pair.b.forceUnderLoad = true
        pair.send(pair.makePacket(from: .a), from: .a)
        #expect(pair.step() == .dropped(.underLoadCookieSent))
        #expect(pair.step() == .handled)
        let resent = try #require(pair.takeInFlight().first)
        #expect(resent.isInitiation)
        return resent
    }

    static func mac2(_ datagram: EnginePair.Datagram) -> ArraySlice<UInt8> {
        datagram.bytes[HandshakeInitiationLayout.mac2...]
    }

    @Test(
        "under load, an initiation without mac2 gets a cookie reply and the retry carrying mac2 completes",
        arguments: endpointPairs)
    func cookieRoundTrip(endpoints: (Endpoint, Endpoint)) throws {
        let pair = Self.pair(endpoints: endpoints)
        pair.b.forceUnderLoad = true
        let packet = pair.makePacket(from: .a)
        pair.send(packet, from: .a)
        let first = try #require(pair.inFlight.first)
        #expect(Self.mac2(first).allSatisfy { $0 == 0 }, "no cookie yet: mac2 is zero")

        #expect(pair.step() == .dropped(.underLoadCookieSent))
        #expect(nonZeroDrops(pair.b) == [.underLoadCookieSent: 1])
        #expect(pair.b.takeEvents() == [.refused(.underLoadCookieSent)])
        #expect(pair.peerOnB.current == nil && pair.peerOnB.next == nil)
        let reply = try #require(pair.inFlight.first)
        #expect(reply.isCookieReply && reply.destination == endpoints.0)
        #expect(reply.bytes[4..<8] == first.bytes[4..<8], "addressed to the initiation's sender index")

        // The cookie makes the initiator resend at once, with mac2, instead of after rekey-timeout.
        #expect(pair.step() == .handled)
        #expect(pair.a.drops.total == 0)
        let retry = try #require(pair.inFlight.first)
        #expect(retry.isInitiation)
        #expect(!Self.mac2(retry).allSatisfy { $0 == 0 })
        #expect(pair.pump() == [.handled, .handled, .delivered(packet)])
        #expect(nonZeroDrops(pair.b) == [.underLoadCookieSent: 1])
        #expect(pair.peerOnB.current != nil)
    }

    @Test("a cookie triggers one immediate resend per initiation: a second cookie waits for the retransmit timer")
    func oneResendPerCookie() throws {
        let pair = EnginePair()
        let resent = try Self.initiationResentWithCookie(pair)
        #expect(resent.isInitiation)
        // A second cookie bound to the resent initiation (B saw it from another port) is taken, but sends nothing.
        var elsewhere = resent.source
        elsewhere.port &+= 1
        #expect(pair.receive(resent.bytes, at: .b, from: elsewhere) == .dropped(.underLoadCookieSent))
        let cookie = try #require(pair.takeInFlight().first { $0.isCookieReply })
        #expect(pair.receive(cookie.bytes, at: .a, from: cookie.source) == .handled)
        #expect(pair.takeInFlight().isEmpty, "no second immediate resend for the same initiation")
        pair.clock.advance(to: try #require(pair.a.nextDeadline))
        pair.tick()
        #expect(pair.takeInFlight().first?.isInitiation == true, "the retransmit timer sends the next one")
    }

    @Test("a cookie is bound to the source: from another address or port, the same mac2 gets a new cookie reply")
    func cookieBoundToSource() throws {
        let pair = EnginePair()
        let withMAC2 = try Self.initiationResentWithCookie(pair)
        #expect(withMAC2.isInitiation)
        var moved = withMAC2.source
        moved.port &+= 1
        #expect(pair.receive(withMAC2.bytes, at: .b, from: moved) == .dropped(.underLoadCookieSent))
        #expect(
            pair.receive(withMAC2.bytes, at: .b, from: Endpoint("203.0.113.5:4000")!) == .dropped(.underLoadCookieSent))
        #expect(pair.receive(withMAC2.bytes, at: .b, from: withMAC2.source) == .handled)
        #expect(nonZeroDrops(pair.b) == [.underLoadCookieSent: 3])
    }

    @Test("under load, one source gets handshakeBurstPerSource cookie replies, then handshakesPerSecondPerSource")
    func cookieRepliesAreRateLimited() throws {
        let pair = EnginePair()
        pair.b.forceUnderLoad = true
        pair.a.initiateHandshake(with: pair.peerOnA, now: pair.clock.now, isRetry: false)
        let initiation = try #require(pair.takeInFlight().first)
        var results: [EnginePair.Outcome] = []
        for _ in 0..<100 { results.append(pair.receive(initiation.bytes, at: .b, from: initiation.source)) }
        let burst = Implementation.handshakeBurstPerSource
        #expect(results.prefix(burst).allSatisfy { $0 == .dropped(.underLoadCookieSent) })
        #expect(results.dropFirst(burst).allSatisfy { $0 == .dropped(.rateLimited) })
        #expect(pair.takeInFlight().filter(\.isCookieReply).count == burst)
        // Another address has its own budget; the first one's refills.
        #expect(
            pair.receive(initiation.bytes, at: .b, from: Endpoint("203.0.113.5:4000")!)
                == .dropped(.underLoadCookieSent))
        pair.clock.advance(by: .seconds(1) / Implementation.handshakesPerSecondPerSource + .milliseconds(1))
        #expect(pair.receive(initiation.bytes, at: .b, from: initiation.source) == .dropped(.underLoadCookieSent))
    }

    @Test("under load, a response without mac2 gets a cookie reply from the initiator, and the next round completes")
    func cookieForResponse() throws {
        let pair = EnginePair()
        pair.a.forceUnderLoad = true
        let packet = pair.makePacket(from: .a)
        pair.send(packet, from: .a)
        // initiation → B; response → A refuses it with a cookie reply; cookie reply → B accepts it.
        #expect(pair.pump() == [.handled, .dropped(.underLoadCookieSent), .handled])
        pair.clock.advance(to: try #require(pair.a.nextDeadline))
        pair.tick()
        #expect(pair.pump() == [.handled, .handled, .delivered(packet)])
        #expect(nonZeroDrops(pair.a) == [.underLoadCookieSent: 1])
        #expect(pair.b.drops.total == 0)
    }

    @Test("under load, a source address gets a burst of handshakeBurstPerSource, then handshakesPerSecondPerSource")
    func perSourceRateLimit() throws {
        let pair = EnginePair()
        let withMAC2 = try Self.initiationResentWithCookie(pair)
        let source = withMAC2.source

        // The first use of the bucket takes a token and completes; replays take the rest and are stale.
        #expect(pair.receive(withMAC2.bytes, at: .b, from: source) == .handled)
        for _ in 1..<Implementation.handshakeBurstPerSource {
            #expect(pair.receive(withMAC2.bytes, at: .b, from: source) == .dropped(.staleTimestamp))
        }
        #expect(pair.receive(withMAC2.bytes, at: .b, from: source) == .dropped(.rateLimited))
        // One token comes back every 1/20 s.
        let refill = Duration.seconds(1) / Implementation.handshakesPerSecondPerSource
        pair.clock.advance(by: refill - .milliseconds(1))
        #expect(pair.receive(withMAC2.bytes, at: .b, from: source) == .dropped(.rateLimited))
        pair.clock.advance(by: .milliseconds(2))  // not 1: the bucket is floating point
        #expect(pair.receive(withMAC2.bytes, at: .b, from: source) == .dropped(.staleTimestamp))
        #expect(pair.receive(withMAC2.bytes, at: .b, from: source) == .dropped(.rateLimited))
        #expect(pair.b.drops[.rateLimited] == 3)
        #expect(pair.b.drops[.staleTimestamp] == UInt64(Implementation.handshakeBurstPerSource))

        // Another port of the same address shares the bucket but needs its own cookie first.
        var other = source
        other.port &+= 1
        #expect(pair.receive(withMAC2.bytes, at: .b, from: other) == .dropped(.underLoadCookieSent))
    }

    @Test("under load, every single-bit flip of a valid mac2 is answered with a cookie reply instead")
    func corruptedMAC2UnderLoad() throws {
        let pair = EnginePair()
        let withMAC2 = try Self.initiationResentWithCookie(pair)
        var mismatches: [Int] = []
        for bit in (HandshakeInitiationLayout.mac2 * 8)..<(HandshakeInitiationLayout.size * 8) {
            // Past the cookie-reply limit's refill time each, so every flip is answered.
            pair.clock.advance(by: .seconds(1) / Implementation.handshakesPerSecondPerSource)
            var bytes = withMAC2.bytes
            bytes[bit / 8] ^= UInt8(1 << (bit % 8))
            if pair.receive(bytes, at: .b, from: withMAC2.source) != .dropped(.underLoadCookieSent) {
                mismatches.append(bit)
            }
        }
        #expect(mismatches.isEmpty, "bits accepted or otherwise dropped: \(mismatches)")
        #expect(pair.b.drops[.underLoadCookieSent] == 129)
        #expect(pair.receive(withMAC2.bytes, at: .b, from: withMAC2.source) == .handled)
    }

    @Test("the rate limiter refills per address up to the burst and forgets idle sources")
    func rateLimiterUnit() {
        var limiter = HandshakeRateLimiter()
        let a = IPAddress("192.0.2.1")!
        let b = IPAddress("2001:db8::1")!
        var now = Instant(nanoseconds: 1_000_000_000)
        var burst = 0
        while limiter.allow(a, now: now), burst < 100 { burst += 1 }
        #expect(burst == Implementation.handshakeBurstPerSource)
        let otherAllowed = limiter.allow(b, now: now)
        #expect(otherAllowed, "addresses have separate buckets")
        now = now + .seconds(10)
        var allowed = 0
        for _ in 0..<100 where limiter.allow(a, now: now) { allowed += 1 }
        #expect(allowed == Implementation.handshakeBurstPerSource, "the bucket never holds more than the burst")
    }

    @Test("more than underLoadHandshakesPerSecond handshake messages in a second put the engine under load for a while")
    func automaticUnderLoad() throws {
        let pair = EnginePair()
        pair.a.initiateHandshake(with: pair.peerOnA, now: pair.clock.now, isRetry: false)
        let initiation = try #require(pair.takeInFlight().first)
        let limit = Implementation.underLoadHandshakesPerSecond
        #expect(pair.receive(initiation.bytes, at: .b, from: initiation.source) == .handled)
        for _ in 1..<limit {
            #expect(pair.receive(initiation.bytes, at: .b, from: initiation.source) == .dropped(.staleTimestamp))
        }
        _ = pair.takeInFlight()
        #expect(pair.receive(initiation.bytes, at: .b, from: initiation.source) == .dropped(.underLoadCookieSent))
        #expect(pair.takeInFlight().first?.isCookieReply == true)

        // Still under load within underLoadAfterTime of the last excess …
        pair.clock.advance(by: Implementation.underLoadAfterTime - .milliseconds(1))
        #expect(pair.receive(initiation.bytes, at: .b, from: initiation.source) == .dropped(.underLoadCookieSent))
        // … and back to normal once it has passed and the rate is low.
        pair.clock.advance(by: Implementation.underLoadAfterTime)
        #expect(pair.receive(initiation.bytes, at: .b, from: initiation.source) == .dropped(.staleTimestamp))
    }
}
