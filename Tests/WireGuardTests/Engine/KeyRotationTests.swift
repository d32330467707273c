import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

/// Key rotation (whitepaper §6.3): previous, current and next keypairs let a rekey happen under traffic.
@Suite("Keypair rotation")
struct KeyRotationTests {
    @Test("packets sealed under the previous keypair are still accepted after a rekey, in both directions")
    func inFlightUnderPreviousKeypair() throws {
        let pair = EnginePair()
        pair.establishSession()
        let old = try #require(pair.peerOnA.current)
        let oldOnB = try #require(pair.peerOnB.current)
        pair.clock.advance(by: Specification.rekeyAfterTime + .seconds(1))

        let lateFromB = pair.makePacket(from: .b)
        let datagramFromB = try #require(pair.sealAside(lateFromB, from: .b))
        let lateFromA = pair.makePacket(from: .a)
        let datagramFromA = try #require(pair.sealAside(lateFromA, from: .a))  // also triggers the rekey
        #expect(pair.inFlight.count == 1 && pair.inFlight[0].isInitiation)

        #expect(pair.pump() == [.handled, .handled, .keepalive])
        #expect(pair.peerOnA.current !== old && pair.peerOnA.previous === old)
        #expect(pair.peerOnB.current !== oldOnB && pair.peerOnB.previous === oldOnB)

        #expect(pair.deliver(datagramFromA) == .delivered(lateFromA))
        #expect(pair.deliver(datagramFromB) == .delivered(lateFromB))
        #expect(pair.a.drops.total == 0 && pair.b.drops.total == 0)
    }

    @Test("the responder keeps sending under its current keypair until the initiator confirms the new one")
    func responderWaitsForConfirmation() throws {
        let pair = EnginePair()
        pair.establishSession()
        let oldOnB = try #require(pair.peerOnB.current)
        pair.clock.advance(by: Specification.rekeyAfterTime + .seconds(1))
        pair.send(pair.makePacket(from: .a), from: .a)
        pair.filter = { $0.isResponse ? .hold : .deliver }
        pair.pump()
        let next = try #require(pair.peerOnB.next)
        #expect(pair.peerOnB.current === oldOnB)
        #expect(pair.b.prepareSendForTest(pair.makePacket(from: .b), now: pair.clock.now)?.keypair === oldOnB)
        pair.filter = nil
        pair.releaseHeld()
        pair.pump()
        #expect(pair.peerOnB.current === next)
        #expect(pair.peerOnB.previous === oldOnB)
    }

    @Test("a second initiation before confirmation replaces the unconfirmed next keypair")
    func nextReplaced() throws {
        let pair = EnginePair()
        pair.establishSession()
        pair.clock.advance(by: Specification.rekeyAfterTime + .seconds(1))
        pair.filter = { $0.isResponse ? .drop : .deliver }
        pair.send(pair.makePacket(from: .a), from: .a)
        pair.pump()
        let firstNext = try #require(pair.peerOnB.next)
        pair.clock.advance(to: try #require(pair.a.nextDeadline))
        pair.tick()
        pair.pump()
        let secondNext = try #require(pair.peerOnB.next)
        #expect(secondNext !== firstNext)
        #expect(pair.b.indexTable[firstNext.localIndex] == nil)
        // current, and the new next: the previous slot was emptied when the first next arrived.
        #expect(pair.b.indexCount(of: pair.peerOnB) == 2)
    }

    @Test(
        "no packet is lost while a rekey happens with traffic flowing both ways",
        arguments: [false, true])
    func rekeyUnderTraffic(reorder: Bool) throws {
        let pair = EnginePair()
        pair.establishSession()
        let first = try #require(pair.peerOnA.current)
        let shuffler = SeededRandom(seed: 77)
        pair.clock.advance(by: Specification.rekeyAfterTime - .seconds(1))

        var sentByA: [[UInt8]] = []
        var sentByB: [[UInt8]] = []
        var onTheWire: [EnginePair.Datagram] = []
        // Every 50 ms each side sends a packet; what is emitted in one step arrives in the next one.
        for step in 0..<80 {
            pair.clock.advance(by: .milliseconds(50))
            pair.tick()
            let packetA = pair.makePacket(from: .a, ipv6: step % 3 == 0)
            let packetB = pair.makePacket(from: .b, ipv6: step % 5 == 0)
            sentByA.append(packetA)
            sentByB.append(packetB)
            #expect(!pair.send(packetA, from: .a).isDrop)
            #expect(!pair.send(packetB, from: .b).isDrop)
            var arriving = onTheWire
            onTheWire = pair.takeInFlight()
            if reorder {
                for i in stride(from: arriving.count - 1, to: 0, by: -1) {
                    arriving.swapAt(i, Int(shuffler.nextUInt32() % UInt32(i + 1)))
                }
            }
            for datagram in arriving { pair.deliver(datagram) }
        }
        pair.inFlight = onTheWire + pair.inFlight
        pair.pump()

        #expect(pair.peerOnA.current !== first, "a rekey happened")
        #expect(pair.log.filter { $0.datagram.isInitiation }.count == 2)
        #expect(pair.a.drops.total == 0)
        #expect(pair.b.drops.total == 0)
        let received = (a: pair.tun[.a] ?? [], b: pair.tun[.b] ?? [])
        if reorder {
            #expect(Set(received.b) == Set(sentByA) && received.b.count == sentByA.count)
            #expect(Set(received.a) == Set(sentByB) && received.a.count == sentByB.count)
        } else {
            #expect(received.b == sentByA)
            #expect(received.a == sentByB)
        }
    }
}

extension SendDecision {
    var isDrop: Bool {
        if case .drop = self { return true }
        return false
    }
}
