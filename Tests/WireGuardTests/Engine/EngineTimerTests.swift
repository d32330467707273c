import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

/// Every protocol timer of whitepaper §6 (the kernel's timers.c), driven by a ``ManualClock``: the clock moves
/// to a deadline, the engines tick, and the network is pumped.
@Suite("Engine timers")
struct EngineTimerTests {
    static let jitterMax = Duration.milliseconds(Int(Implementation.rekeyTimeoutJitterMaxMilliseconds))

    // MARK: - Handshake retransmission

    @Test("the timer pass visits only peers with timers: 1,000 idle peers are never looked at")
    func idlePeersAreNotVisited() throws {
        let pair = EnginePair()
        for i in 0..<1000 {
            let key = Key32(filling: { buffer in
                buffer.initializeMemory(as: UInt8.self, repeating: 0)
                buffer.storeBytes(of: UInt32(i + 1).bigEndian, toByteOffset: 0, as: UInt32.self)
            })
            let peer = try #require(pair.a.addPeer(publicKey: key))
            pair.a.addAllowedIP(IPPrefix("10.200.\(i / 250).\(i % 250 + 1)/32")!, for: peer)
        }
        #expect(pair.a.armedPeers.isEmpty)
        #expect(pair.a.nextDeadline == nil)
        let packet = pair.makePacket(from: .a)
        pair.send(packet, from: .a)
        #expect(pair.pump().last == .delivered(packet))
        #expect(pair.a.armedPeers.map(\.publicKey) == [pair.peerOnA.publicKey], "only the peer that talked")
        #expect(pair.a.nextDeadline != nil)
        // Once every timer of it has fired or been cleared, it leaves the list.
        pair.a.removePeer(publicKey: pair.peerOnA.publicKey)
        pair.tick()
        #expect(pair.a.armedPeers.isEmpty)
        #expect(pair.a.nextDeadline == nil)
    }

    @Test("an unanswered initiation is retried after rekeyTimeout plus jitter, then given up")
    func retransmitThenGiveUp() throws {
        let pair = EnginePair()
        let staged = [pair.makePacket(from: .a), pair.makePacket(from: .a, ipv6: true)]
        for packet in staged { #expect(pair.send(packet, from: .a).isStaged) }
        let first = pair.takeInFlight()
        #expect(first.count == 1 && first[0].isInitiation)
        var senderIndices: Set<UInt32> = [first[0].senderIndex]
        #expect(pair.a.takeEvents() == [.initiationSent(peer: pair.publicKeyB, retry: false)])

        var waits: [Duration] = []
        for attempt in 1...Implementation.maxHandshakeAttempts {
            let deadline = try #require(pair.a.nextDeadline)
            let wait = deadline.duration(since: pair.clock.now.monotonic)
            #expect(wait >= Specification.rekeyTimeout && wait < Specification.rekeyTimeout + Self.jitterMax)
            waits.append(wait)
            pair.clock.advance(by: wait - .milliseconds(1))
            pair.tick()
            #expect(pair.inFlight.isEmpty, "attempt \(attempt) went out early")
            pair.clock.advance(to: deadline)
            pair.tick()
            let retry = pair.takeInFlight()
            #expect(retry.count == 1 && retry.first?.isInitiation == true, "attempt \(attempt)")
            #expect(retry.first?.destination == pair.configuration.endpointB)
            if let index = retry.first?.senderIndex { senderIndices.insert(index) }
            #expect(pair.a.takeEvents() == [.initiationSent(peer: pair.publicKeyB, retry: true)])
            #expect(pair.peerOnA.staged == staged)
        }
        #expect(senderIndices.count == Implementation.maxHandshakeAttempts + 1, "each attempt is a new initiation")
        #expect(Set(waits).count > 1, "the jitter varies")

        // One more rekey-timeout: give up.
        let deadline = try #require(pair.a.nextDeadline)
        pair.clock.advance(to: deadline)
        pair.tick()
        #expect(pair.inFlight.isEmpty)
        #expect(pair.a.takeEvents() == [.gaveUp(peer: pair.publicKeyB)])
        #expect(nonZeroDrops(pair.a) == [.handshakeTimedOut: UInt64(staged.count)])
        #expect(pair.peerOnA.staged.isEmpty)
        #expect(pair.peerOnA.initiator == nil)
        #expect(pair.a.indexCount(of: pair.peerOnA) == 0)
        #expect(pair.a.nextDeadline == pair.clock.now.monotonic + Specification.rejectAfterTime * 3)

        // A new packet later starts over.
        pair.clock.advance(by: .seconds(1))
        #expect(pair.send(pair.makePacket(from: .a), from: .a).isStaged)
        #expect(pair.takeInFlight().filter { $0.isInitiation }.count == 1)
        #expect(pair.a.takeEvents() == [.initiationSent(peer: pair.publicKeyB, retry: false)])
    }

    @Test("a lost response is recovered by the retransmitted initiation")
    func lostResponseRecovered() throws {
        let pair = EnginePair()
        let packet = pair.makePacket(from: .a)
        pair.send(packet, from: .a)
        pair.filter = { $0.isResponse ? .drop : .deliver }
        #expect(pair.pump() == [.handled])
        pair.filter = nil
        pair.clock.advance(to: try #require(pair.a.nextDeadline))
        pair.tick()
        #expect(pair.pump() == [.handled, .handled, .delivered(packet)])
        #expect(pair.a.drops.total == 0 && pair.b.drops.total == 0)
    }

    @Test("a new non-retry initiation waits rekeyTimeout after the previous one")
    func initiationRateLimit() {
        let pair = EnginePair()
        pair.send(pair.makePacket(from: .a), from: .a)
        #expect(pair.takeInFlight().count == 1)
        pair.clock.advance(by: Specification.rekeyTimeout - .milliseconds(1))
        #expect(pair.send(pair.makePacket(from: .a), from: .a).isStaged)
        #expect(pair.takeInFlight().isEmpty)
        pair.clock.advance(by: .milliseconds(1))
        #expect(pair.send(pair.makePacket(from: .a), from: .a).isStaged)
        #expect(pair.takeInFlight().filter { $0.isInitiation }.count == 1)
        #expect(pair.peerOnA.timers.handshakeAttempts == 0)
    }

    // MARK: - Keepalives and new handshakes

    @Test("a passive keepalive follows received data after keepaliveTimeout when nothing was sent back")
    func passiveKeepalive() throws {
        let pair = EnginePair()
        pair.establishSession()
        let handshakes = pair.log.filter(\.datagram.isInitiation).count
        pair.clock.advance(by: .seconds(1))
        pair.send(pair.makePacket(from: .a), from: .a)
        pair.pump()
        let received = pair.clock.now.monotonic
        #expect(pair.peerOnB.timers.sendKeepaliveAt == received + Specification.keepaliveTimeout)

        pair.clock.advance(by: Specification.keepaliveTimeout - .milliseconds(1))
        pair.tick()
        #expect(pair.inFlight.isEmpty)
        pair.clock.advance(by: .milliseconds(1))
        pair.tick()
        let keepalive = try #require(pair.inFlight.first)
        #expect(pair.inFlight.count == 1)
        #expect(keepalive.from == .b && keepalive.isKeepalive)
        #expect(pair.pump() == [.keepalive])
        // The keepalive told A its data arrived: no new handshake.
        #expect(pair.peerOnA.timers.newHandshakeAt == nil)
        #expect(pair.run(for: .seconds(60)))
        #expect(pair.log.filter { $0.datagram.isInitiation }.count == handshakes)
        #expect(pair.log.filter { $0.datagram.from == .b && $0.datagram.isKeepalive }.count == 1)
    }

    @Test("data received while a keepalive is pending asks for one more keepalive")
    func anotherKeepalive() {
        let pair = EnginePair()
        pair.establishSession()
        let t1 = pair.clock.now.monotonic
        pair.send(pair.makePacket(from: .a), from: .a)
        pair.pump()
        pair.clock.advance(by: .seconds(1))
        pair.send(pair.makePacket(from: .a), from: .a)
        pair.pump()
        #expect(pair.peerOnB.timers.needAnotherKeepalive)

        #expect(pair.run(for: .seconds(40)))
        let keepalives = pair.log.filter { $0.datagram.from == .b && $0.datagram.isKeepalive }.map(\.datagram.sentAt)
        #expect(keepalives == [t1 + .seconds(10), t1 + .seconds(20)])
    }

    @Test("sending data and hearing nothing for keepalive + rekey timeout starts a new handshake")
    func newHandshakeWhenUnanswered() throws {
        let pair = EnginePair()
        pair.establishSession()
        _ = pair.takeEvents()
        pair.filter = { $0.from == .b ? .drop : .deliver }
        pair.send(pair.makePacket(from: .a), from: .a)
        pair.pump()
        let sent = pair.clock.now.monotonic
        let deadline = try #require(pair.peerOnA.timers.newHandshakeAt)
        let wait = deadline.duration(since: sent)
        let base = Specification.keepaliveTimeout + Specification.rekeyTimeout
        #expect(wait >= base && wait < base + Self.jitterMax)

        #expect(pair.run(for: wait - .milliseconds(1)))
        #expect(!pair.a.takeEvents().contains { $0.isInitiationSent })
        #expect(pair.run(for: .milliseconds(1)))
        #expect(pair.a.takeEvents() == [.initiationSent(peer: pair.publicKeyB, retry: false)])
    }

    // MARK: - Rekeying and expiry

    @Test("the initiator rekeys on send once its keypair is older than rekeyAfterTime; the responder does not")
    func rekeyAfterTimeOnSend() throws {
        let pair = EnginePair()
        pair.establishSession()
        _ = pair.takeEvents()
        let old = try #require(pair.peerOnA.current)
        var sentByA: [[UInt8]] = []
        var sentByB: [[UInt8]] = []

        pair.clock.advance(by: Specification.rekeyAfterTime)
        for side in [EnginePair.Side.b, .a] {
            let packet = pair.makePacket(from: side)
            #expect(pair.send(packet, from: side).ticket != nil)
            if side == .a { sentByA.append(packet) } else { sentByB.append(packet) }
        }
        #expect(pair.inFlight.allSatisfy { $0.isTransport }, "exactly rekeyAfterTime old is not yet too old")

        pair.clock.advance(by: .milliseconds(1))
        let fromB = pair.makePacket(from: .b)
        #expect(pair.send(fromB, from: .b).ticket != nil)
        sentByB.append(fromB)
        #expect(pair.inFlight.allSatisfy { $0.isTransport }, "the responder never rekeys on age")
        #expect(pair.b.takeEvents().isEmpty)

        let fromA = pair.makePacket(from: .a)
        let ticket = try #require(pair.send(fromA, from: .a).ticket)
        sentByA.append(fromA)
        #expect(ticket.keypair === old, "the packet itself still goes under the old keypair")
        #expect(pair.inFlight.last?.isInitiation == true)
        #expect(pair.a.takeEvents() == [.initiationSent(peer: pair.publicKeyB, retry: false)])

        pair.pump()
        #expect(pair.peerOnA.current !== old)
        #expect(pair.peerOnA.previous === old)
        #expect(pair.peerOnB.current?.localIndex == pair.peerOnA.current?.remoteIndex)
        #expect(pair.tun[.b] == sentByA)
        #expect(pair.tun[.a] == sentByB)
    }

    @Test("the initiator rekeys on receive once its keypair is older than rejectAfterTime − keepalive − rekey")
    func keepKeyFreshReceiving() throws {
        let pair = EnginePair()
        pair.establishSession()
        _ = pair.takeEvents()
        let threshold = Specification.rejectAfterTime - Specification.keepaliveTimeout - Specification.rekeyTimeout

        pair.clock.advance(by: threshold)
        let early = pair.makePacket(from: .b)
        pair.send(early, from: .b)
        #expect(pair.pump() == [.delivered(early)])
        #expect(pair.a.takeEvents().isEmpty)

        pair.clock.advance(by: .milliseconds(1))
        let late = pair.makePacket(from: .b)
        pair.send(late, from: .b)
        #expect(pair.step() == .delivered(late))
        #expect(pair.a.takeEvents() == [.initiationSent(peer: pair.publicKeyB, retry: false)])
        #expect(pair.inFlight.count == 1 && pair.inFlight[0].isInitiation && pair.inFlight[0].from == .a)

        // The responder does not rekey on receive: deliver only A's data to B.
        let sentFromA = pair.makePacket(from: .a)
        let fromA = try #require(pair.sealAside(sentFromA, from: .a))
        _ = pair.takeInFlight()
        #expect(pair.deliver(fromA) == .delivered(sentFromA))
        #expect(pair.inFlight.isEmpty)
        #expect(pair.b.takeEvents().isEmpty)
    }

    @Test("after rejectAfterTime a keypair is refused on receive (keypair_expired), and sending stages and initiates")
    func rejectAfterTime() throws {
        let pair = EnginePair()
        pair.establishSession()
        pair.clock.advance(by: Specification.rejectAfterTime - .milliseconds(1))
        let late = try #require(pair.sealAside(pair.makePacket(from: .b), from: .b))
        pair.clock.advance(by: .milliseconds(1))
        #expect(pair.deliver(late) == .dropped(.keypairExpired))
        #expect(nonZeroDrops(pair.a) == [.keypairExpired: 1])

        let packet = pair.makePacket(from: .a)
        #expect(pair.send(packet, from: .a).isStaged)
        #expect(pair.inFlight.count == 1 && pair.inFlight[0].isInitiation)
        pair.pump()
        #expect(pair.tun[.b]?.last == packet)

        // B's keypair expired too: B stages and, having a fresh one now, sends.
        let reply = pair.makePacket(from: .b)
        #expect(pair.send(reply, from: .b).ticket != nil)
        #expect(pair.pump() == [.delivered(reply)])
    }

    @Test("all key material is erased 3 × rejectAfterTime after the last session was derived")
    func zeroKeyMaterial() throws {
        let pair = EnginePair()
        pair.establishSession()
        let derived = pair.clock.now.monotonic
        // A keepalive, not data: data would arm B's new-handshake timer.
        pair.b.sendKeepalive(to: pair.peerOnB, now: pair.clock.now)
        let stale = try #require(pair.takeInFlight().first)
        #expect(pair.a.nextDeadline == derived + Specification.rejectAfterTime * 3)
        #expect(pair.b.nextDeadline == derived + Specification.rejectAfterTime * 3)

        pair.clock.advance(by: Specification.rejectAfterTime * 3 - .milliseconds(1))
        pair.tick()
        #expect(pair.peerOnA.current != nil && pair.peerOnB.current != nil)

        pair.clock.advance(by: .milliseconds(1))
        pair.tick()
        for side in [EnginePair.Side.a, .b] {
            let peer = pair.peer(on: side)
            #expect(peer.current == nil && peer.previous == nil && peer.next == nil && peer.initiator == nil)
            #expect(pair.engine(side).indexTable.isEmpty)
            #expect(pair.engine(side).nextDeadline == nil)
        }
        #expect(pair.inFlight.isEmpty)
        #expect(pair.deliver(stale) == .dropped(.unknownReceiverIndex))

        let packet = pair.makePacket(from: .a)
        #expect(pair.send(packet, from: .a).isStaged)
        pair.pump()
        #expect(pair.tun[.b] == [packet])
    }

    @Test("giving up schedules key erasure unless it is already scheduled")
    func giveUpKeepsEarlierErasure() throws {
        let pair = EnginePair()
        pair.establishSession()
        let erase = try #require(pair.peerOnA.timers.zeroKeyMaterialAt)
        pair.filter = { _ in .drop }
        pair.clock.advance(by: Specification.rejectAfterTime)
        pair.send(pair.makePacket(from: .a), from: .a)
        while pair.peerOnA.initiator != nil, let deadline = pair.a.nextDeadline, deadline < erase {
            pair.clock.advance(to: deadline)
            pair.tick()
            pair.pump()
        }
        #expect(pair.a.takeEvents().last == .gaveUp(peer: pair.publicKeyB))
        #expect(pair.peerOnA.timers.zeroKeyMaterialAt == erase)
    }

    // MARK: - Persistent keepalive

    @Test("persistent keepalives go out every interval while the tunnel is idle")
    func persistentKeepaliveCadence() throws {
        let pair = EnginePair()
        pair.establishSession()
        pair.a.setPersistentKeepalive(25, for: pair.peerOnA, now: pair.clock.now)
        #expect(pair.pump() == [.keepalive], "turning it on sends one at once")
        let start = pair.clock.now.monotonic

        #expect(pair.run(for: .seconds(110)))
        let times = pair.log.filter { $0.datagram.from == .a && $0.datagram.sentAt > start }.map(\.datagram.sentAt)
        #expect(times == [25, 50, 75, 100].map { start + .seconds($0) })
        #expect(pair.log.filter { $0.datagram.from == .b && $0.datagram.sentAt > start }.isEmpty)
    }

    @Test("other traffic postpones the persistent keepalive, and 0 turns it off")
    func persistentKeepalivePostponed() throws {
        let pair = EnginePair()
        pair.establishSession()
        pair.a.setPersistentKeepalive(25, for: pair.peerOnA, now: pair.clock.now)
        pair.pump()
        let start = pair.clock.now.monotonic
        pair.clock.advance(by: .seconds(10))
        let reply = pair.makePacket(from: .b)
        pair.send(reply, from: .b)  // A receives at +10: the next keepalive moves to +35
        pair.pump()
        #expect(pair.peerOnA.timers.persistentKeepaliveAt == start + .seconds(35))

        pair.a.setPersistentKeepalive(0, for: pair.peerOnA, now: pair.clock.now)
        #expect(pair.peerOnA.timers.persistentKeepaliveAt == nil)
        // Only the passive keepalive answering B's data remains.
        #expect(pair.run(for: .seconds(100)))
        let fromA = pair.log.filter { $0.datagram.from == .a && $0.datagram.sentAt > start }
        #expect(fromA.map { $0.datagram.sentAt } == [start + .seconds(20)])
    }

    @Test("turning on persistent keepalive without a session starts a handshake that the keepalive confirms")
    func persistentKeepaliveStartsHandshake() {
        let pair = EnginePair()
        pair.a.setPersistentKeepalive(25, for: pair.peerOnA, now: pair.clock.now)
        pair.collectOutboxes()
        #expect(pair.inFlight.count == 1 && pair.inFlight[0].isInitiation)
        #expect(pair.pump() == [.handled, .handled, .keepalive])
        #expect(pair.peerOnB.current != nil)
        #expect(pair.a.drops.total == 0 && pair.b.drops.total == 0)
    }

    @Test("a keepalive-only tunnel is rekeyed by the initiator before its keypair expires")
    func keepaliveTriggersRekey() throws {
        let pair = EnginePair()
        pair.establishSession()
        let old = try #require(pair.peerOnA.current)
        pair.a.setPersistentKeepalive(25, for: pair.peerOnA, now: pair.clock.now)
        // Keepalives at 25 … 175 s; the one at 125 s is the first under a keypair older than rekeyAfterTime,
        // and the whitepaper (§6.2) and the kernel rekey after sending any transport message then.
        #expect(pair.run(for: .seconds(179)))
        #expect(pair.peerOnA.current !== old, "the keypair should have been replaced before rejectAfterTime")
        let initiations = pair.log.filter { $0.datagram.isInitiation && $0.datagram.sentAt > pair.log[0].at }
        #expect(initiations.first?.datagram.sentAt == old.createdAt + .seconds(125))
    }

    // MARK: - Message-count limits

    @Test("the initiator rekeys on send once it has sent more than rekeyAfterMessages")
    func rekeyAfterMessagesInitiator() throws {
        let pair = EnginePair()
        pair.establishSession()
        let keypair = try #require(pair.peerOnA.current)
        pair.clock.advance(by: Specification.rekeyTimeout)  // past the initiation rate limit
        keypair.sendCounter = Specification.rekeyAfterMessages - 1
        #expect(pair.send(pair.makePacket(from: .a), from: .a).ticket?.counter == Specification.rekeyAfterMessages - 1)
        #expect(pair.takeInFlight().allSatisfy { $0.isTransport })
        #expect(pair.send(pair.makePacket(from: .a), from: .a).ticket?.counter == Specification.rekeyAfterMessages)
        #expect(pair.takeInFlight().contains { $0.isInitiation })
    }

    @Test("the responder also rekeys on send once it has sent more than rekeyAfterMessages")
    func rekeyAfterMessagesResponder() throws {
        let pair = EnginePair()
        pair.establishSession()
        let keypair = try #require(pair.peerOnB.current)
        pair.clock.advance(by: Specification.rekeyTimeout)
        keypair.sendCounter = Specification.rekeyAfterMessages
        #expect(pair.send(pair.makePacket(from: .b), from: .b).ticket != nil)
        // The kernel's keep_key_fresh() checks the counter for both roles; only the age check is initiator-only.
        #expect(pair.takeInFlight().contains { $0.isInitiation })
    }

    @Test("a keypair that reaches rejectAfterMessages is not used again: the packet is staged behind a handshake")
    func rejectAfterMessages() throws {
        let pair = EnginePair()
        pair.establishSession()
        let keypair = try #require(pair.peerOnA.current)
        pair.clock.advance(by: Specification.rekeyTimeout)
        keypair.sendCounter = Specification.rejectAfterMessages - 1
        let last = pair.makePacket(from: .a)
        #expect(pair.send(last, from: .a).ticket?.counter == Specification.rejectAfterMessages - 1)
        let beyond = pair.makePacket(from: .a)
        #expect(pair.send(beyond, from: .a).isStaged)
        pair.pump()
        #expect(pair.tun[.b] == [last, beyond])
        #expect(pair.peerOnA.current !== keypair)
    }
}

extension EnginePair.Datagram {
    /// The sender index of a handshake message (bytes 4..<8, little-endian).
    var senderIndex: UInt32 {
        bytes.count >= 8 ? bytes[4..<8].reversed().reduce(0) { $0 << 8 | UInt32($1) } : 0
    }
}
