import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

/// The RFC 6479 replay window, checked with the Linux kernel's selftest table (drivers/net/wireguard/
/// selftest/counter.c, as ported to wireguard-go's replay_test.go), cases numbered as there.
/// A reference wrapper so `accept` can be called inside `#expect`.
private final class Filter {
    var window = ReplayWindow()
    func accept(_ counter: UInt64) -> Bool { window.accept(counter) }
}

@Suite("Replay window")
struct ReplayWindowTests {
    static let window = Implementation.replayWindowSize
    static let limit = window + 1  // T_LIM
    static let reject = Specification.rejectAfterMessages

    /// (case number, counter, accepted?) — run in order against one window.
    static let kernelTable: [(Int, UInt64, Bool)] = [
        (1, 0, true),
        (2, 1, true),
        (3, 1, false),
        (4, 9, true),
        (5, 8, true),
        (6, 7, true),
        (7, 7, false),
        (8, limit, true),
        (9, limit - 1, true),
        (10, limit - 1, false),
        (11, limit - 2, true),
        (12, 2, true),
        (13, 2, false),
        (14, limit + 16, true),
        (15, 3, false),
        (16, limit + 16, false),
        (17, limit * 4, true),
        (18, limit * 4 - (limit - 1), true),
        (19, 10, false),
        (20, limit * 4 - limit, false),
        (21, limit * 4 - (limit + 1), false),
        (22, limit * 4 - (limit - 2), true),
        (23, limit * 4 + 1 - limit, false),
        (24, 0, false),
        (25, reject, false),
        (26, reject - 1, true),
        (27, reject, false),
        (28, reject - 1, false),
        (29, reject - 2, true),
        (30, reject + 1, false),
        (31, reject + 2, false),
        (32, reject - 2, false),
        (33, reject - 3, true),
        (34, 0, false),
    ]

    @Test("the kernel selftest table: in order, duplicates, far jumps, the window edge and the message limit")
    func kernelSelftestTable() {
        let window = Filter()
        for (number, counter, accepted) in Self.kernelTable {
            #expect(window.accept(counter) == accepted, "case \(number): counter \(counter)")
        }
    }

    /// The kernel's bulk tests 1-6: (counters to feed in order, each expected accepted; then trailing checks).
    static let bulkCases: [(name: String, feed: [UInt64], then: [(UInt64, Bool)])] = [
        ("bulk 1", Array(1...window), [(0, true), (0, false)]),
        ("bulk 2", Array(2...(window + 1)), [(1, true), (0, false)]),
        ("bulk 3", Array((1...(window + 1)).reversed()), []),
        ("bulk 4", Array((2...(window + 2)).reversed()), [(0, false)]),
        ("bulk 5", Array((1...window).reversed()), [(window + 1, true), (0, false)]),
        ("bulk 6", Array((1...window).reversed()), [(0, true), (window + 1, true)]),
    ]

    @Test("the kernel bulk tests: a full window forwards and backwards, and one past its edge", arguments: 0..<6)
    func kernelBulk(index: Int) {
        let bulk = Self.bulkCases[index]
        let window = Filter()
        var refused: [UInt64] = []
        for counter in bulk.feed where !window.accept(counter) { refused.append(counter) }
        #expect(refused.isEmpty, "\(bulk.name): refused \(refused.prefix(5))")
        for (counter, accepted) in bulk.then {
            #expect(window.accept(counter) == accepted, "\(bulk.name): counter \(counter)")
        }
    }

    @Test("a counter exactly replayWindowSize behind the newest is accepted, one more is not")
    func windowEdge() {
        let window = Filter()
        #expect(window.accept(10_000))
        #expect(window.accept(10_000 - Self.window))
        #expect(!window.accept(10_000 - Self.window - 1))
        #expect(!window.accept(10_000 - Self.window))
    }

    @Test("after a jump of more than the whole ring, old bits do not reject new counters")
    func jumpClearsRing() {
        let window = Filter()
        for counter in UInt64(0)..<200 { #expect(window.accept(counter)) }
        let far: UInt64 = 1_000_000
        #expect(window.accept(far))
        // Counters that share ring slots with the first 200 must be fresh again.
        var refused: [UInt64] = []
        for counter in (far - 150)..<far where !window.accept(counter) { refused.append(counter) }
        #expect(refused.isEmpty, "refused \(refused.prefix(5))")
    }
}

/// The replay window as seen through the engine: a replayed datagram is `replayed_counter`.
@Suite("Replay protection through the engine")
struct EngineReplayTests {
    @Test("a transport datagram delivered twice is replayed_counter the second time")
    func duplicate() throws {
        let pair = EnginePair()
        pair.establishSession()
        let packet = pair.makePacket(from: .a)
        let datagram = try #require(pair.sealAside(packet, from: .a))
        #expect(pair.deliver(datagram) == .delivered(packet))
        #expect(pair.deliver(datagram) == .dropped(.replayedCounter))
        #expect(nonZeroDrops(pair.b) == [.replayedCounter: 1])
        #expect(pair.tun[.b] == [packet])
    }

    @Test("reordered datagrams inside the window are accepted once; one beyond the window is replayed_counter")
    func reorderAndWindowEdge() throws {
        let pair = EnginePair()
        pair.establishSession()
        let keypair = try #require(pair.peerOnA.current)
        let base = keypair.sendCounter  // the keepalive that confirmed the session used counter 0
        let packets = (0..<3).map { _ in pair.makePacket(from: .a) }
        let datagrams = try packets.map { try #require(pair.sealAside($0, from: .a)) }
        // Deliver out of order: 2, 0, 1.
        #expect(pair.deliver(datagrams[2]) == .delivered(packets[2]))
        #expect(pair.deliver(datagrams[0]) == .delivered(packets[0]))
        #expect(pair.deliver(datagrams[1]) == .delivered(packets[1]))

        // Hold two more, then jump ahead so the first is just outside the window and the second on its edge.
        let oldest = pair.makePacket(from: .a)
        let edge = pair.makePacket(from: .a)
        let oldestDatagram = try #require(pair.sealAside(oldest, from: .a))  // counter base + 3
        let edgeDatagram = try #require(pair.sealAside(edge, from: .a))  // counter base + 4
        keypair.sendCounter = base + 4 + Implementation.replayWindowSize
        let newest = pair.makePacket(from: .a)
        let newestDatagram = try #require(pair.sealAside(newest, from: .a))
        #expect(pair.deliver(newestDatagram) == .delivered(newest))
        #expect(pair.deliver(edgeDatagram) == .delivered(edge))
        #expect(pair.deliver(oldestDatagram) == .dropped(.replayedCounter))
        #expect(nonZeroDrops(pair.b) == [.replayedCounter: 1])
    }

    @Test("a replayed datagram that fails its tag is invalid_authentication_tag and does not poison the window")
    func forgedCounter() throws {
        let pair = EnginePair()
        pair.establishSession()
        let packet = pair.makePacket(from: .a)
        let datagram = try #require(pair.sealAside(packet, from: .a))
        var forged = datagram.bytes
        forged[forged.count - 3] ^= 0x40
        #expect(pair.receive(forged, at: .b, from: datagram.source) == .dropped(.invalidAuthenticationTag))
        #expect(pair.deliver(datagram) == .delivered(packet))
    }
}
