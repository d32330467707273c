import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

/// Cryptokey routing (whitepaper §2) on send and receive, and endpoint roaming (§2.1).
@Suite("Cryptokey routing and endpoint roaming")
struct RoutingAndRoamingTests {
    static let roamedEndpoints = [Endpoint("203.0.113.9:40001")!, Endpoint("[2001:db8::9]:40002")!]

    @Test("after data arrives from a new endpoint, the next datagram goes there", arguments: roamedEndpoints)
    func roamingOnData(newEndpoint: Endpoint) throws {
        let pair = EnginePair()
        pair.establishSession()
        pair.moveEndpoint(of: .a, to: newEndpoint)

        let packet = pair.makePacket(from: .a)
        pair.send(packet, from: .a)
        #expect(pair.pump() == [.delivered(packet)])
        #expect(pair.peerOnB.endpoint == newEndpoint)

        let reply = pair.makePacket(from: .b)
        let ticket = try #require(pair.send(reply, from: .b).ticket)
        #expect(ticket.endpoint == newEndpoint)
        #expect(pair.pump() == [.delivered(reply)])
    }

    @Test("a handshake initiation from a new endpoint moves the endpoint, and the response goes there")
    func roamingOnInitiation() throws {
        let pair = EnginePair()
        let moved = Endpoint("203.0.113.77:5555")!
        pair.moveEndpoint(of: .a, to: moved)
        pair.send(pair.makePacket(from: .a), from: .a)
        #expect(pair.step() == .handled)
        #expect(pair.peerOnB.endpoint == moved)
        let response = try #require(pair.inFlight.first)
        #expect(response.isResponse && response.destination == moved)
    }

    @Test("a responder without an endpoint learns it from the initiation")
    func endpointLearnedFromInitiation() {
        var configuration = EnginePair.Configuration()
        configuration.bKnowsEndpointOfA = false
        let pair = EnginePair(configuration)
        guard case .drop(.noEndpoint) = pair.send(pair.makePacket(from: .b), from: .b) else {
            Issue.record("B has no endpoint for A yet")
            return
        }
        #expect(pair.b.drops[.noEndpoint] == 1)
        pair.send(pair.makePacket(from: .a), from: .a)
        pair.pump()
        #expect(pair.peerOnB.endpoint == pair.configuration.endpointA)
        let reply = pair.makePacket(from: .b)
        #expect(pair.send(reply, from: .b).ticket != nil)
        #expect(pair.pump() == [.delivered(reply)])
    }

    @Test("a datagram that fails authentication or is replayed does not move the endpoint")
    func noRoamingOnForgery() throws {
        let pair = EnginePair()
        pair.establishSession()
        let attacker = Endpoint("203.0.113.66:6666")!
        let packet = pair.makePacket(from: .a)
        let datagram = try #require(pair.sealAside(packet, from: .a))
        var forged = datagram.bytes
        forged[forged.count - 1] ^= 0x01
        #expect(pair.receive(forged, at: .b, from: attacker) == .dropped(.invalidAuthenticationTag))
        #expect(pair.peerOnB.endpoint == pair.configuration.endpointA)

        #expect(pair.deliver(datagram) == .delivered(packet))
        #expect(pair.receive(datagram.bytes, at: .b, from: attacker) == .dropped(.replayedCounter))
        #expect(pair.peerOnB.endpoint == pair.configuration.endpointA)
    }

    @Test(
        "a decrypted packet whose inner source is outside the sender's allowed IPs is source_not_allowed",
        arguments: ["10.0.9.9", "10.0.3.5", "10.0.1.7", "fd00:9::1", "fd00:1::7"])
    func sourceNotAllowed(source: String) {
        let pair = EnginePair()
        // A third peer owns 10.0.3.0/24 on A: its addresses are not B's to use either.
        let carol = pair.a.addPeer(publicKey: X25519.publicKey(for: SeededRandom(seed: 3).nextKey()))!
        pair.a.addAllowedIP(IPPrefix("10.0.3.0/24")!, for: carol)
        pair.establishSession()

        let sourceAddress = IPAddress(source)!
        let destination = sourceAddress.isV4 ? EnginePair.hostA4 : EnginePair.hostA6
        let spoofed = IPPacketBuilder.udp(from: sourceAddress, to: destination, payload: [1, 2, 3])
        #expect(pair.send(spoofed, from: .b).ticket != nil)  // B routes by destination only
        #expect(pair.pump() == [.dropped(.sourceNotAllowed)])
        #expect(nonZeroDrops(pair.a) == [.sourceNotAllowed: 1])
        #expect(pair.tun[.a]?.isEmpty == true)
    }

    @Test(
        "an outbound packet whose destination matches no allowed IP is no_route",
        arguments: [
            IPPacketBuilder.udp(from: EnginePair.hostA4, to: IPAddress("10.9.9.9")!, payload: [1]),
            IPPacketBuilder.udp(from: EnginePair.hostA6, to: IPAddress("fd00:9::1")!, payload: [1]),
            [0x50] + [UInt8](repeating: 0, count: 39),  // IP version 5
            [UInt8](repeating: 0x45, count: 19),  // shorter than an IPv4 header
            [UInt8](),
        ])
    func noRoute(packet: [UInt8]) {
        let pair = EnginePair()
        guard case .drop(.noRoute) = pair.send(packet, from: .a) else {
            Issue.record("expected no_route")
            return
        }
        #expect(nonZeroDrops(pair.a) == [.noRoute: 1])
        #expect(pair.inFlight.isEmpty)
    }

    @Test("a peer without an endpoint is no_endpoint, an engine without a private key is no_private_key")
    func missingConfiguration() throws {
        let random = SeededRandom(seed: 11)
        let engine = Engine(random: random)
        let peer = try #require(engine.addPeer(publicKey: X25519.publicKey(for: random.nextKey())))
        engine.addAllowedIP(IPPrefix("10.0.2.0/24")!, for: peer)
        let packet = IPPacketBuilder.udp(from: EnginePair.hostA4, to: EnginePair.hostB4, payload: [7])
        let now = ManualClock().now
        guard case .drop(.noPrivateKey) = packet.withUnsafeBytes({ engine.prepareSend(packet: $0, now: now) }) else {
            Issue.record("expected no_private_key")
            return
        }
        // A handshake message cannot be processed without a key either.
        let initiation: [UInt8] = [1, 0, 0, 0] + [UInt8](repeating: 0, count: 144)
        let decision = initiation.withUnsafeBytes {
            engine.prepareReceive(datagram: $0, from: Endpoint("192.0.2.1:1")!, now: now)
        }
        guard case .drop(.noPrivateKey) = decision else {
            Issue.record("expected no_private_key on receive, got \(decision)")
            return
        }

        engine.setPrivateKey(random.nextKey())
        guard case .drop(.noEndpoint) = packet.withUnsafeBytes({ engine.prepareSend(packet: $0, now: now) }) else {
            Issue.record("expected no_endpoint")
            return
        }
        #expect(nonZeroDrops(engine) == [.noPrivateKey: 2, .noEndpoint: 1])
    }

    @Test(
        "a decrypted payload that is not a well-formed IP packet is malformed_inner_packet",
        arguments: [
            [0x50] + [UInt8](repeating: 0, count: 39),  // version 5
            [0x45, 0, 0, 100] + [UInt8](repeating: 0, count: 16),  // IPv4 claiming more bytes than it has
            [0x44, 0, 0, 20] + [UInt8](repeating: 0, count: 16),  // IPv4 header length 16
            [0x45, 0, 0, 10] + [UInt8](repeating: 0, count: 16),  // total length below the header length
            [0x45, 0, 0, 20, 0, 0],  // shorter than an IPv4 header
            [0x60] + [UInt8](repeating: 0, count: 30),  // shorter than an IPv6 header
            [0x60, 0, 0, 0, 0, 40] + [UInt8](repeating: 0, count: 34),  // IPv6 payload length beyond the data
        ])
    func malformedInnerPacket(content: [UInt8]) throws {
        let pair = EnginePair()
        pair.establishSession()
        // Reserve a counter with a real packet, then seal something else under it.
        let ticket = try #require(pair.b.prepareSendForTest(pair.makePacket(from: .b), now: pair.clock.now))
        let datagram = EnginePair.seal(content, ticket: ticket, mtu: 1420, aead: ChaCha20Poly1305())
        #expect(pair.receive(datagram, at: .a, from: pair.configuration.endpointB) == .dropped(.malformedInnerPacket))
        #expect(nonZeroDrops(pair.a) == [.malformedInnerPacket: 1])
    }

    @Test("a packet opened while its peer was removed is dropped as unknown_receiver_index")
    func peerRemovedWhileOpening() throws {
        let pair = EnginePair()
        pair.establishSession()
        let datagram = try #require(pair.sealAside(pair.makePacket(from: .a), from: .a))
        let decision = datagram.bytes.withUnsafeBytes {
            pair.b.prepareReceive(datagram: $0, from: datagram.source, now: pair.clock.now)
        }
        guard case .open(let ticket) = decision else {
            Issue.record("expected a ticket, got \(decision)")
            return
        }
        pair.b.removePeer(publicKey: pair.publicKeyA)
        var buffer = datagram.bytes
        let result = buffer.withUnsafeMutableBytes { raw in
            let ok = Engine.open(ticket, datagram: raw, aead: ChaCha20Poly1305())
            #expect(ok)
            return pair.b.completeReceive(
                ticket, opened: UnsafeRawBufferPointer(raw), from: datagram.source,
                now: pair.clock.now)
        }
        #expect(result == .drop(.unknownReceiverIndex))
        #expect(pair.b.indexTable.isEmpty)
    }

    @Test("an initiation from a static key that is not a peer is unknown_peer")
    func unknownPeer() {
        let pair = EnginePair()
        pair.b.removePeer(publicKey: pair.publicKeyA)
        pair.send(pair.makePacket(from: .a), from: .a)
        #expect(pair.pump() == [.dropped(.unknownPeer)])
        #expect(nonZeroDrops(pair.b) == [.unknownPeer: 1])
        #expect(pair.b.takeEvents() == [.refused(.unknownPeer)])
    }
}

extension Engine {
    /// `prepareSend` for a test that only wants the ticket.
    func prepareSendForTest(_ packet: [UInt8], now: Moment) -> SendTicket? {
        packet.withUnsafeBytes { prepareSend(packet: $0, now: now) }.ticket
    }
}
