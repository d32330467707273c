import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

/// Reading the tunnelled packet's header (length, source, destination) for cryptokey routing.
@Suite("Inner packet headers")
struct InnerPacketTests {
    final class Owner {}

    static let packets: [[UInt8]] = [
        IPPacketBuilder.udp(from: EnginePair.hostA4, to: EnginePair.hostB4, payload: [1, 2, 3]),
        IPPacketBuilder.udp(from: EnginePair.hostA6, to: EnginePair.hostB6, payload: Array(0..<77)),
        IPPacketBuilder.icmpEcho(
            from: EnginePair.hostA4, to: EnginePair.hostB4, identifier: 9, sequence: 1, payload: [7]),
        IPPacketBuilder.icmpEcho(
            from: EnginePair.hostA6, to: EnginePair.hostB6, identifier: 9, sequence: 2, payload: []),
    ]

    @Test("the test packet builder produces packets whose checksums verify", arguments: packets)
    func builderChecksums(packet: [UInt8]) {
        #expect(IPPacketBuilder.hasValidChecksums(packet))
        for offset in [packet.count - 1, 10, 24] where offset < packet.count {
            var corrupted = packet
            corrupted[offset] ^= 0x01
            #expect(!IPPacketBuilder.hasValidChecksums(corrupted), "byte \(offset)")
        }
    }

    @Test("the length comes from the header, so padding after the packet is ignored", arguments: packets)
    func lengthIgnoresPadding(packet: [UInt8]) {
        let padded = packet + [UInt8](repeating: 0, count: 13)
        #expect(padded.withUnsafeBytes { InnerPacket.length(of: $0) } == packet.count)
        #expect(Array(packet.dropLast()).withUnsafeBytes { InnerPacket.length(of: $0) } == nil)
    }

    @Test("source and destination are looked up in the allowed-IPs table", arguments: packets)
    func lookups(packet: [UInt8]) {
        let table = AllowedIPs<Owner>()
        let a = Owner()
        let b = Owner()
        table.insert(EnginePair.subnetA4, value: a)
        table.insert(EnginePair.subnetA6, value: a)
        table.insert(EnginePair.subnetB4, value: b)
        table.insert(EnginePair.subnetB6, value: b)
        packet.withUnsafeBytes { raw in
            #expect(InnerPacket.sourcePeer(of: raw, in: table) === a)
            #expect(InnerPacket.destinationPeer(of: raw, in: table) === b)
        }
    }

    @Test(
        "nothing is found for a non-IP or truncated header",
        arguments: [
            [], [0x45], [UInt8](repeating: 0x45, count: 19), [UInt8](repeating: 0x60, count: 39), [0x70, 0, 0, 0],
        ])
    func noLookupOnGarbage(bytes: [UInt8]) {
        let table = AllowedIPs<Owner>()
        table.insert(IPPrefix("0.0.0.0/0")!, value: Owner())
        table.insert(IPPrefix("::/0")!, value: Owner())
        bytes.withUnsafeBytes { raw in
            #expect(InnerPacket.destinationPeer(of: raw, in: table) == nil)
            #expect(InnerPacket.length(of: raw) == nil)
        }
    }
}

@Suite("Message framing and drop reasons")
struct MessageFramingTests {
    @Test(
        "the type word is read little-endian and the reserved bytes must be zero",
        arguments: [
            ([1, 0, 0, 0], MessageType.handshakeInitiation), ([2, 0, 0, 0], .handshakeResponse),
            ([3, 0, 0, 0], .cookieReply), ([4, 0, 0, 0], .transportData), ([0, 0, 0, 0], nil), ([5, 0, 0, 0], nil),
            ([1, 0, 0, 1], nil), ([0, 0, 0, 1], nil), ([1, 0, 0], nil), ([], nil),
        ] as [([UInt8], MessageType?)])
    func classify(bytes: [UInt8], expected: MessageType?) {
        #expect(bytes.withUnsafeBytes { MessageType.classify($0) } == expected)
    }

    @Test("drop reason labels are unique snake_case metric labels")
    func dropReasonLabels() {
        let labels = DropReason.allCases.map(\.rawValue)
        #expect(Set(labels).count == labels.count)
        for label in labels {
            #expect(label.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("0"..."9").contains($0) }, "\(label)")
        }
    }

    @Test("drop counters count per reason and in total")
    func dropCounters() {
        var counters = DropCounters()
        counters.record(.noRoute)
        counters.record(.noRoute)
        counters.record(.handshakeTimedOut, count: 5)
        #expect(counters[.noRoute] == 2)
        #expect(counters[.handshakeTimedOut] == 5)
        #expect(counters[.invalidMAC1] == 0)
        #expect(counters.total == 7)
    }
}

@Suite("Engine configuration changes")
struct EngineConfigurationTests {
    @Test("changing the private key erases every session, and handshakes then use the new key")
    func privateKeyChange() throws {
        let pair = EnginePair()
        pair.establishSession()
        let stale = try #require(pair.sealAside(pair.makePacket(from: .b), from: .b))
        let newKey = X25519.generatePrivateKey(using: SeededRandom(seed: 404))
        pair.a.setPrivateKey(newKey)
        #expect(pair.peerOnA.current == nil)
        #expect(pair.a.indexTable.isEmpty)
        #expect(pair.deliver(stale) == .dropped(.unknownReceiverIndex))

        // B still expects A's old key: A's new initiations are unknown_peer (or fail mac1: mac1 is keyed by B's key).
        pair.clock.advance(by: .seconds(6))
        let first = pair.makePacket(from: .a)
        pair.send(first, from: .a)
        #expect(pair.pump() == [.dropped(.unknownPeer)])
        pair.b.removePeer(publicKey: pair.publicKeyA)
        let newPeer = try #require(pair.b.addPeer(publicKey: X25519.publicKey(for: newKey)))
        pair.b.addAllowedIP(EnginePair.subnetA4, for: newPeer)
        pair.clock.advance(by: .seconds(6))
        let packet = pair.makePacket(from: .a)
        pair.send(packet, from: .a)
        pair.pump()
        #expect(pair.tun[.b] == [first, packet], "the packet staged during the failed attempt waited")
    }

    @Test("a peer with the interface's own public key is refused")
    func selfPeer() {
        let pair = EnginePair()
        #expect(pair.a.addPeer(publicKey: pair.publicKeyA) == nil)
        #expect(pair.a.peers.count == 1)
    }

    @Test("removing a peer forgets its sessions, staged packets and routes")
    func removePeer() throws {
        let pair = EnginePair()
        pair.establishSession()
        pair.send(pair.makePacket(from: .a), from: .a)
        pair.a.removePeer(publicKey: pair.publicKeyB)
        #expect(pair.a.indexTable.isEmpty)
        #expect(pair.a.peers.isEmpty)
        guard case .drop(.noRoute) = pair.send(pair.makePacket(from: .a), from: .a) else {
            Issue.record("expected no_route once the peer is gone")
            return
        }
    }
}
