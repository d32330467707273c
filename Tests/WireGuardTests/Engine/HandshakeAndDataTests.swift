import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

/// The whole protocol between two engines: handshake (whitepaper §5.4.2-§5.4.5), session confirmation
/// (§6.3) and transport data (§5.4.6), with real IPv4 and IPv6 packets.
@Suite("Handshake and transport data between two engines")
struct HandshakeAndDataTests {
    enum PresharedKeyMode: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case none
        case same
        var testDescription: String { rawValue == "none" ? "without a preshared key" : "with a preshared key" }
    }

    static func configuration(_ psk: PresharedKeyMode, seed: UInt64 = 1) -> EnginePair.Configuration {
        var configuration = EnginePair.Configuration()
        configuration.seed = seed
        if psk == .same {
            let key = SeededRandom(seed: 99).nextKey()
            configuration.presharedKeyOnA = key
            configuration.presharedKeyOnB = key
        }
        return configuration
    }

    @Test(
        "a staged packet triggers a handshake, then packets flow both ways unchanged",
        arguments: [false, true], PresharedKeyMode.allCases)
    func handshakeThenData(ipv6: Bool, psk: PresharedKeyMode) throws {
        let pair = EnginePair(Self.configuration(psk))
        let first = pair.makePacket(from: .a, ipv6: ipv6)
        #expect(IPPacketBuilder.hasValidChecksums(first))

        guard case .staged = pair.send(first, from: .a) else {
            Issue.record("the first packet should be staged while there is no session")
            return
        }
        #expect(pair.inFlight.count == 1)
        #expect(pair.inFlight.first?.isInitiation == true)
        #expect(pair.inFlight.first?.destination == pair.configuration.endpointB)

        #expect(pair.step() == .handled)  // B consumes the initiation and answers
        #expect(pair.inFlight.first?.isResponse == true)
        #expect(pair.step() == .handled)  // A consumes the response and flushes the staged packet
        #expect(pair.inFlight.count == 1)
        #expect(pair.inFlight.first?.isTransport == true)
        #expect(pair.step() == .delivered(first))

        let reply = pair.makePacket(from: .b, ipv6: ipv6, payloadLength: 100)
        guard case .send(let ticket) = pair.send(reply, from: .b) else {
            Issue.record("B has a confirmed session and should send at once")
            return
        }
        #expect(ticket.endpoint == pair.configuration.endpointA)
        #expect(pair.step() == .delivered(reply))

        let second = pair.makePacket(from: .a, ipv6: ipv6, payloadLength: 0)
        guard case .send = pair.send(second, from: .a) else {
            Issue.record("A has a session and should send at once")
            return
        }
        #expect(pair.step() == .delivered(second))

        #expect(pair.tun[.b] == [first, second])
        #expect(pair.tun[.a] == [reply])
        #expect(pair.a.drops.total == 0)
        #expect(pair.b.drops.total == 0)
        let events = pair.takeEvents()
        #expect(events.a == [.initiationSent(peer: pair.publicKeyB, retry: false), .completed(peer: pair.publicKeyB)])
        #expect(events.b == [.initiationConsumed(peer: pair.publicKeyA), .completed(peer: pair.publicKeyA)])
    }

    @Test(
        "mismatched preshared keys fail as handshake_decryption_failed on the initiator",
        arguments: [(true, false), (false, true), (true, true)])
    func mismatchedPresharedKey(onA: Bool, onB: Bool) {
        var configuration = EnginePair.Configuration()
        let random = SeededRandom(seed: 5)
        let keyA = random.nextKey()
        let keyB = random.nextKey()
        if onA { configuration.presharedKeyOnA = keyA }
        if onB { configuration.presharedKeyOnB = keyB }
        let pair = EnginePair(configuration)

        #expect(pair.send(pair.makePacket(from: .a), from: .a).isStaged)
        let outcomes = pair.pump()

        // The initiation carries no PSK-dependent field, so B accepts it; A cannot open the response.
        #expect(outcomes == [.handled, .dropped(.handshakeDecryptionFailed)])
        #expect(nonZeroDrops(pair.a) == [.handshakeDecryptionFailed: 1])
        #expect(pair.b.drops.total == 0)
        #expect(pair.a.takeEvents().last == .refused(.handshakeDecryptionFailed))
        #expect(pair.peerOnA.current == nil)
        #expect(pair.peerOnA.staged.count == 1)
        #expect(pair.peerOnB.current == nil)
        #expect(pair.tun[.b]?.isEmpty == true)
    }

    @Test(
        "after the wall clock is stepped back an hour, the next initiation is still newer than the last: the peer accepts it"
    )
    func wallClockStepBack() throws {
        let pair = EnginePair()
        let packet = pair.makePacket(from: .a)
        pair.send(packet, from: .a)
        #expect(pair.pump().last == .delivered(packet))
        pair.clock.stepWall(bySeconds: -3600)
        pair.clock.advance(by: Specification.rekeyTimeout)
        pair.a.initiateHandshake(with: pair.peerOnA, now: pair.clock.now, isRetry: false)
        #expect(pair.pump().first == .handled, "not refused as a stale timestamp")
        #expect(pair.b.drops[.staleTimestamp] == 0)
    }

    @Test("staged packets are flushed in order, IPv4 and IPv6 mixed, with one initiation")
    func stagedPacketsFlushedInOrder() {
        let pair = EnginePair()
        var packets: [[UInt8]] = []
        for i in 0..<6 {
            let packet = pair.makePacket(from: .a, ipv6: i % 2 == 1, payloadLength: 10 * i)
            packets.append(packet)
            #expect(pair.send(packet, from: .a).isStaged)
        }
        #expect(pair.inFlight.filter { $0.isInitiation }.count == 1)
        #expect(pair.peerOnA.staged == packets)

        pair.pump()

        #expect(pair.tun[.b] == packets)
        #expect(pair.peerOnA.staged.isEmpty)
        #expect(pair.a.drops.total == 0 && pair.b.drops.total == 0)
    }

    @Test("the staging queue keeps the newest packets and counts the oldest as staging_queue_full")
    func stagingQueueBound() {
        let pair = EnginePair()
        let limit = Implementation.maxStagedPackets
        let packets = (0..<(limit + 3)).map { _ in pair.makePacket(from: .a) }
        for packet in packets { _ = pair.send(packet, from: .a) }

        #expect(pair.a.drops[.stagingQueueFull] == 3)
        #expect(pair.peerOnA.staged.count == limit)
        pair.pump()
        #expect(pair.tun[.b] == Array(packets.suffix(limit)))
    }

    @Test("the responder promotes its next keypair to current on the first packet under it")
    func responderPromotesNextKeypair() throws {
        let pair = EnginePair()
        let packet = pair.makePacket(from: .a)
        pair.send(packet, from: .a)

        #expect(pair.step() == .handled)
        let next = try #require(pair.peerOnB.next)
        #expect(pair.peerOnB.current == nil)
        #expect(!next.isInitiator)

        #expect(pair.step() == .handled)
        let initiatorKeypair = try #require(pair.peerOnA.current)
        #expect(initiatorKeypair.isInitiator)
        #expect(pair.peerOnA.previous == nil && pair.peerOnA.next == nil)
        #expect(pair.peerOnB.next === next)  // not yet confirmed

        #expect(pair.step() == .delivered(packet))
        #expect(pair.peerOnB.current === next)
        #expect(pair.peerOnB.next == nil)
        #expect(pair.peerOnB.previous == nil)
        // The two ends name each other's index.
        #expect(initiatorKeypair.localIndex == next.remoteIndex)
        #expect(initiatorKeypair.remoteIndex == next.localIndex)
        #expect(initiatorKeypair.sendKey == next.receiveKey)
        #expect(initiatorKeypair.receiveKey == next.sendKey)
    }

    @Test("a responder with only an unconfirmed keypair stages its own packets and initiates")
    func unconfirmedResponderStages() throws {
        let pair = EnginePair()
        pair.a.initiateHandshake(with: pair.peerOnA, now: pair.clock.now, isRetry: false)
        #expect(pair.step() == .handled)  // B now holds `next` only
        _ = pair.takeInFlight()  // the response is lost

        let packet = pair.makePacket(from: .b)
        #expect(pair.send(packet, from: .b).isStaged)
        #expect(pair.inFlight.filter { $0.isInitiation }.count == 1)
        pair.pump()
        #expect(pair.tun[.a] == [packet])
    }

    @Test("lastHandshake records the wall time the handshake completed on each side")
    func lastHandshakeWallTime() {
        let pair = EnginePair()
        #expect(pair.peerOnA.lastHandshake == nil && pair.peerOnB.lastHandshake == nil)
        pair.send(pair.makePacket(from: .a), from: .a)

        pair.step()  // initiation consumed: not yet a completed handshake for B
        #expect(pair.peerOnB.lastHandshake == nil)
        pair.clock.advance(by: .milliseconds(7))
        pair.step()  // response consumed
        let completedOnA = pair.clock.now.wall
        #expect(pair.peerOnA.lastHandshake == completedOnA)
        #expect(pair.peerOnB.lastHandshake == nil)
        pair.clock.advance(by: .milliseconds(11))
        pair.step()  // first transport message confirms B's keypair
        #expect(pair.peerOnB.lastHandshake == pair.clock.now.wall)
        #expect(pair.peerOnA.lastHandshake == completedOnA)
    }

    @Test(
        "transport bytes are counted as whole datagrams on both sides",
        arguments: [0, 1, 15, 16, 17, 100, 1000])
    func transportByteCounters(payloadLength: Int) throws {
        let pair = EnginePair()
        pair.establishSession()
        let txA = pair.peerOnA.transmittedBytes
        let rxB = pair.peerOnB.receivedBytes
        let packet = pair.makePacket(from: .a, payloadLength: payloadLength)
        let datagram = try #require(pair.sealAside(packet, from: .a))
        #expect(datagram.bytes.count == 32 + (packet.count + 15) / 16 * 16)
        #expect(pair.peerOnA.transmittedBytes - txA == UInt64(datagram.bytes.count))
        #expect(pair.deliver(datagram) == .delivered(packet))
        #expect(pair.peerOnB.receivedBytes - rxB == UInt64(datagram.bytes.count))
    }

    @Test("each side received exactly the bytes the other transmitted when nothing was lost")
    func byteCountersAgreeAcrossTheWire() {
        let pair = EnginePair()
        pair.send(pair.makePacket(from: .a), from: .a)
        pair.pump()
        pair.send(pair.makePacket(from: .b), from: .b)
        pair.pump()
        let onTheWire: (EnginePair.Side) -> UInt64 = { side in
            pair.log.filter { $0.datagram.from == side }.reduce(0) { $0 + UInt64($1.datagram.bytes.count) }
        }
        #expect(pair.peerOnA.transmittedBytes == onTheWire(.a))
        #expect(pair.peerOnB.transmittedBytes == onTheWire(.b))
        // wg show / the kernel count handshake messages in rx as well as in tx.
        #expect(pair.peerOnB.receivedBytes == pair.peerOnA.transmittedBytes)
        #expect(pair.peerOnA.receivedBytes == pair.peerOnB.transmittedBytes)
    }

    @Test(
        "padding stops at the MTU and the transmitted-bytes counter matches the datagram sealed",
        arguments: [1405, 1419, 1420, 1421])
    func paddingAtTheMTU(packetLength: Int) throws {
        var configuration = EnginePair.Configuration()
        configuration.mtu = 1420
        let pair = EnginePair(configuration)
        pair.establishSession()
        let packet = pair.makePacket(from: .a, payloadLength: packetLength - 28)
        #expect(packet.count == packetLength)
        let before = pair.peerOnA.transmittedBytes
        let datagram = try #require(pair.sealAside(packet, from: .a))
        let expectedPadded = packetLength > 1420 ? packetLength : min((packetLength + 15) / 16 * 16, 1420)
        #expect(datagram.bytes.count == 32 + expectedPadded)
        #expect(pair.deliver(datagram) == .delivered(packet))
        #expect(pair.peerOnA.transmittedBytes - before == UInt64(datagram.bytes.count))
    }

    @Test("a packet staged at the MTU is flushed after the handshake without padding past the MTU")
    func stagedPacketPaddingRespectsMTU() throws {
        var configuration = EnginePair.Configuration()
        configuration.mtu = 1420
        let pair = EnginePair(configuration)
        let packet = pair.makePacket(from: .a, payloadLength: 1420 - 28)
        #expect(pair.send(packet, from: .a).isStaged)
        pair.step()  // initiation
        pair.step()  // response: A flushes the staged packet
        let flushed = try #require(pair.inFlight.first)
        // An outer datagram 4 bytes over MTU + overhead no longer fits the link the MTU was chosen for.
        #expect(flushed.bytes.count == TransportDataLayout.overhead + 1420)
        #expect(pair.step() == .delivered(packet))
    }

    @Test("simultaneous initiations from both sides converge and deliver both ways")
    func simultaneousInitiation() {
        let pair = EnginePair()
        let fromA = pair.makePacket(from: .a)
        let fromB = pair.makePacket(from: .b)
        #expect(pair.send(fromA, from: .a).isStaged)
        #expect(pair.send(fromB, from: .b).isStaged)
        #expect(pair.inFlight.filter { $0.isInitiation }.count == 2)
        pair.pump()
        #expect(pair.tun[.b] == [fromA])
        #expect(pair.tun[.a] == [fromB])

        let more = (pair.makePacket(from: .a), pair.makePacket(from: .b))
        pair.send(more.0, from: .a)
        pair.send(more.1, from: .b)
        pair.pump()
        #expect(pair.tun[.b] == [fromA, more.0])
        #expect(pair.tun[.a] == [fromB, more.1])
        #expect(pair.a.drops.total == 0 && pair.b.drops.total == 0)
    }

    @Test("the same seed reproduces every message byte for byte")
    func deterministic() {
        func transcript() -> [[UInt8]] {
            let pair = EnginePair()
            pair.send(pair.makePacket(from: .a), from: .a)
            pair.pump()
            return pair.log.map(\.datagram.bytes)
        }
        let first = transcript()
        #expect(first.count == 3)
        #expect(first == transcript())
    }
}

extension SendDecision {
    var isStaged: Bool {
        if case .staged = self { return true }
        return false
    }

    var ticket: SendTicket? {
        if case .send(let ticket) = self { return ticket }
        return nil
    }
}
