import CryptoPrimitives
import MeshgateTestSupport
import NetworkTypes
import Testing

@testable import WireGuard

/// Every datagram ends somewhere countable (style §9.5): truncated, extended, bit-flipped and random
/// datagrams of every message type must end as `.drop(reason)` with that reason's counter incremented, except
/// the few corruptions the protocol deliberately does not authenticate, whose exact outcome is asserted too.
@Suite("Malformed datagrams")
struct MalformedDatagramTests {
    enum Kind: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case initiation, response, cookieReply, transport, keepalive
        var testDescription: String { rawValue }
    }

    /// An engine pair in the state where `bytes` (a genuine message of `kind`) is what `receiver` expects next.
    struct Scenario {
        let pair: EnginePair
        let bytes: [UInt8]
        let receiver: EnginePair.Side
        let source: Endpoint
        /// How the untouched message ends.
        let genuineOutcome: EnginePair.Outcome

        var engine: Engine { pair.engine(receiver) }

        func receive(_ bytes: [UInt8]) -> EnginePair.Outcome { pair.receive(bytes, at: receiver, from: source) }
    }

    static func scenario(_ kind: Kind) -> Scenario {
        let pair = EnginePair()
        let endpointA = pair.configuration.endpointA
        let endpointB = pair.configuration.endpointB
        switch kind {
        case .initiation:
            pair.a.initiateHandshake(with: pair.peerOnA, now: pair.clock.now, isRetry: false)
            let bytes = pair.takeInFlight()[0].bytes
            return Scenario(pair: pair, bytes: bytes, receiver: .b, source: endpointA, genuineOutcome: .handled)
        case .response:
            pair.a.initiateHandshake(with: pair.peerOnA, now: pair.clock.now, isRetry: false)
            pair.step()
            let bytes = pair.takeInFlight()[0].bytes
            return Scenario(pair: pair, bytes: bytes, receiver: .a, source: endpointB, genuineOutcome: .handled)
        case .cookieReply:
            pair.b.forceUnderLoad = true
            pair.a.initiateHandshake(with: pair.peerOnA, now: pair.clock.now, isRetry: false)
            pair.step()
            let bytes = pair.takeInFlight()[0].bytes
            return Scenario(pair: pair, bytes: bytes, receiver: .a, source: endpointB, genuineOutcome: .handled)
        case .transport:
            pair.establishSession()
            let packet = pair.makePacket(from: .a, payloadLength: 40)
            let bytes = pair.sealAside(packet, from: .a)!.bytes
            return Scenario(
                pair: pair, bytes: bytes, receiver: .b, source: endpointA, genuineOutcome: .delivered(packet))
        case .keepalive:
            pair.establishSession()
            pair.a.sendKeepalive(to: pair.peerOnA, now: pair.clock.now)
            let bytes = pair.takeInFlight()[0].bytes
            return Scenario(pair: pair, bytes: bytes, receiver: .b, source: endpointA, genuineOutcome: .keepalive)
        }
    }

    /// The drop a datagram gets from its type word and length alone, or nil if both are right for `kind`.
    static func framingDrop(_ bytes: [UInt8], kind: Kind) -> DropReason? {
        guard bytes.count >= 4 else { return .invalidLength }
        let type = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        switch type {
        case 1: return bytes.count == 148 ? (kind == .initiation ? nil : .unknownMessageType) : .invalidLength
        case 2: return bytes.count == 92 ? (kind == .response ? nil : .unknownMessageType) : .invalidLength
        case 3: return bytes.count == 64 ? (kind == .cookieReply ? nil : .unknownMessageType) : .invalidLength
        case 4:
            return bytes.count >= 32
                ? (kind == .transport || kind == .keepalive ? nil : .unknownMessageType) : .invalidLength
        default: return .unknownMessageType
        }
    }

    /// The outcome of `kind` with one bit flipped in byte `offset` (type word and length intact).
    static func flipOutcome(kind: Kind, offset: Int) -> EnginePair.Outcome {
        switch kind {
        case .initiation:
            // mac1 covers bytes 0..<116; mac2 (132..<148) is only checked under load.
            return offset < HandshakeInitiationLayout.mac2 ? .dropped(.invalidMAC1) : .handled
        case .response:
            return offset < HandshakeResponseLayout.mac2 ? .dropped(.invalidMAC1) : .handled
        case .cookieReply:
            return offset < CookieReplyLayout.nonce ? .dropped(.unknownReceiverIndex) : .dropped(.invalidCookieReply)
        case .transport, .keepalive:
            // The counter is the nonce, so a flipped counter fails the tag like a flipped ciphertext.
            return offset < TransportDataLayout.counter
                ? .dropped(.unknownReceiverIndex) : .dropped(.invalidAuthenticationTag)
        }
    }

    /// Delivers `bytes` and checks the outcome and that exactly the matching counter moved; returns a
    /// description of any mismatch.
    static func check(_ scenario: Scenario, _ bytes: [UInt8], expect expected: EnginePair.Outcome, label: String)
        -> String?
    {
        let before = scenario.engine.drops
        let outcome = scenario.receive(bytes)
        let after = scenario.engine.drops
        if outcome != expected { return "\(label): expected \(expected), got \(outcome)" }
        if case .dropped(let reason) = expected {
            if after[reason] != before[reason] + 1 || after.total != before.total + 1 {
                return "\(label): counter \(reason.rawValue) did not move by exactly one"
            }
        } else if after.total != before.total {
            return "\(label): a drop was counted for an accepted message"
        }
        return nil
    }

    @Test(
        "every truncation and a one-byte extension of each message type is dropped and counted",
        arguments: Kind.allCases)
    func truncations(kind: Kind) {
        let scenario = Self.scenario(kind)
        var mismatches: [String] = []
        var lengths = Array(0..<scenario.bytes.count)
        lengths.append(scenario.bytes.count + 1)
        for length in lengths {
            let bytes = length <= scenario.bytes.count ? Array(scenario.bytes.prefix(length)) : scenario.bytes + [0]
            let expected = Self.framingDrop(bytes, kind: kind) ?? .invalidAuthenticationTag
            if let m = Self.check(scenario, bytes, expect: .dropped(expected), label: "length \(length)") {
                mismatches.append(m)
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(8))")
        #expect(scenario.receive(scenario.bytes) == scenario.genuineOutcome, "the genuine message still works")
    }

    @Test(
        "every single-bit flip of each message type ends exactly as the protocol prescribes",
        arguments: Kind.allCases)
    func bitFlips(kind: Kind) {
        let scenario = Self.scenario(kind)
        var mismatches: [String] = []
        var acceptedFlips = 0
        for bit in 0..<(scenario.bytes.count * 8) {
            var bytes = scenario.bytes
            let offset = bit / 8
            bytes[offset] ^= UInt8(1 << (bit % 8))
            let expected: EnginePair.Outcome =
                Self.framingDrop(bytes, kind: kind).map { .dropped($0) } ?? Self.flipOutcome(kind: kind, offset: offset)
            if expected == .handled {
                // Accepting consumes the handshake state, so each accepted flip gets a fresh, identical scenario.
                acceptedFlips += 1
                let fresh = Self.scenario(kind)
                guard fresh.bytes == scenario.bytes else {
                    mismatches.append("scenario is not reproducible")
                    break
                }
                if let m = Self.check(fresh, bytes, expect: .handled, label: "bit \(bit)") { mismatches.append(m) }
            } else if let m = Self.check(scenario, bytes, expect: expected, label: "bit \(bit)") {
                mismatches.append(m)
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(8))")
        #expect(acceptedFlips == (kind == .initiation || kind == .response ? 128 : 0))
        #expect(scenario.receive(scenario.bytes) == scenario.genuineOutcome, "the genuine message still works")
    }

    @Test(
        "a flipped bit in an encrypted handshake field with a recomputed mac1 is handshake_decryption_failed",
        arguments: [Kind.initiation, .response])
    func tamperedWithValidMAC1(kind: Kind) {
        let scenario = Self.scenario(kind)
        let receiverKey = kind == .initiation ? scenario.pair.publicKeyB : scenario.pair.publicKeyA
        var generator = CookieGenerator(peerPublicKey: receiverKey)
        let encrypted =
            kind == .initiation
            ? HandshakeInitiationLayout.unencryptedEphemeral..<HandshakeInitiationLayout.mac1
            : HandshakeResponseLayout.unencryptedEphemeral..<HandshakeResponseLayout.mac1
        var mismatches: [String] = []
        for bit in (encrypted.lowerBound * 8)..<(encrypted.upperBound * 8) {
            // Stay below underLoadHandshakesPerSecond: every one of these has a valid mac1 and counts.
            scenario.pair.clock.advance(by: .milliseconds(3))
            var bytes = scenario.bytes
            bytes[bit / 8] ^= UInt8(1 << (bit % 8))
            generator.addMACs(to: &bytes, now: scenario.pair.clock.now.monotonic)
            if let m = Self.check(scenario, bytes, expect: .dropped(.handshakeDecryptionFailed), label: "bit \(bit)") {
                mismatches.append(m)
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(8))")
        #expect(scenario.receive(scenario.bytes) == .handled)
    }

    @Test("a response whose receiver index was changed under a valid mac1 is unknown_receiver_index")
    func responseForAnotherIndex() {
        let scenario = Self.scenario(.response)
        var generator = CookieGenerator(peerPublicKey: scenario.pair.publicKeyA)
        var mismatches: [String] = []
        for bit in (HandshakeResponseLayout.receiverIndex * 8)..<(HandshakeResponseLayout.unencryptedEphemeral * 8) {
            var bytes = scenario.bytes
            bytes[bit / 8] ^= UInt8(1 << (bit % 8))
            generator.addMACs(to: &bytes, now: scenario.pair.clock.now.monotonic)
            if let m = Self.check(scenario, bytes, expect: .dropped(.unknownReceiverIndex), label: "bit \(bit)") {
                mismatches.append(m)
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(8))")
    }

    @Test("a replayed initiation is stale_timestamp and a replayed response unknown_receiver_index")
    func replayedHandshakeMessages() {
        let initiation = Self.scenario(.initiation)
        #expect(initiation.receive(initiation.bytes) == .handled)
        #expect(initiation.receive(initiation.bytes) == .dropped(.staleTimestamp))
        #expect(nonZeroDrops(initiation.engine) == [.staleTimestamp: 1])
        #expect(initiation.engine.takeEvents().last == .refused(.staleTimestamp))

        let response = Self.scenario(.response)
        #expect(response.receive(response.bytes) == .handled)
        #expect(response.receive(response.bytes) == .dropped(.unknownReceiverIndex))
        #expect(nonZeroDrops(response.engine) == [.unknownReceiverIndex: 1])
    }

    @Test("an initiation sooner than minInitiationInterval after the last accepted one is initiation_flood")
    func initiationFlood() throws {
        let pair = EnginePair()
        pair.a.initiateHandshake(with: pair.peerOnA, now: pair.clock.now, isRetry: false)
        #expect(pair.step() == .handled)
        _ = pair.takeInFlight()
        // 17 ms later the whitened TAI64N timestamp has moved on (16.8 ms granularity): a fresh initiation.
        pair.clock.advance(by: .milliseconds(17))
        pair.a.initiateHandshake(with: pair.peerOnA, now: pair.clock.now, isRetry: true)
        #expect(pair.step() == .dropped(.initiationFlood))
        pair.clock.advance(by: .milliseconds(3))
        pair.a.initiateHandshake(with: pair.peerOnA, now: pair.clock.now, isRetry: true)
        #expect(pair.step() == .handled)
        #expect(nonZeroDrops(pair.b) == [.initiationFlood: 1])
    }

    /// The reason a datagram of random content must be dropped for: framing first, then the first check that
    /// random bytes cannot pass (mac1, or the receiver index).
    static func garbageDrop(_ bytes: [UInt8], indices: Set<UInt32>) -> DropReason {
        guard bytes.count >= 4 else { return .invalidLength }
        let type = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        let index =
            bytes.count >= 8
            ? UInt32(bytes[4]) | UInt32(bytes[5]) << 8 | UInt32(bytes[6]) << 16 | UInt32(bytes[7]) << 24 : 0
        switch type {
        case 1: return bytes.count == 148 ? .invalidMAC1 : .invalidLength
        case 2: return bytes.count == 92 ? .invalidMAC1 : .invalidLength
        case 3:
            guard bytes.count == 64 else { return .invalidLength }
            return indices.contains(index) ? .invalidCookieReply : .unknownReceiverIndex
        case 4:
            guard bytes.count >= 32 else { return .invalidLength }
            return indices.contains(index) ? .invalidAuthenticationTag : .unknownReceiverIndex
        default: return .unknownMessageType
        }
    }

    @Test("random datagrams from a fixed seed are all dropped with the reason their framing implies")
    func randomGarbage() {
        let pair = EnginePair()
        pair.establishSession()
        let random = SeededRandom(seed: 0xDEAD_BEEF)
        let source = Endpoint("203.0.113.50:9999")!
        var mismatches: [String] = []
        var seen: [DropReason: Int] = [:]
        for i in 0..<3000 {
            let choice = random.nextUInt32() % 8
            let length: Int
            switch choice {
            case 0: length = 148
            case 1: length = 92
            case 2: length = 64
            case 3: length = 32 + Int(random.nextUInt32() % 200)
            default: length = Int(random.nextUInt32() % 200)
            }
            var bytes = [UInt8](repeating: 0, count: length)
            bytes.withUnsafeMutableBytes { random.fill($0) }
            if choice < 4, length >= 4 {
                bytes[0] = [1, 2, 3, 4][Int(choice)]
                bytes[1] = 0
                bytes[2] = 0
                bytes[3] = 0
            }
            let expected = Self.garbageDrop(bytes, indices: Set(pair.b.indexTable.keys))
            let before = pair.b.drops
            let outcome = pair.receive(bytes, at: .b, from: source)
            if outcome != .dropped(expected) || pair.b.drops[expected] != before[expected] + 1 {
                mismatches.append(
                    "#\(i) (\(length) bytes, type \(bytes.first ?? 0)): expected \(expected), got \(outcome)")
            }
            seen[expected, default: 0] += 1
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(8))")
        #expect(pair.b.drops.total == 3000)
        #expect(Set(seen.keys) == [.invalidLength, .unknownMessageType, .invalidMAC1, .unknownReceiverIndex])
        #expect(pair.peerOnB.endpoint == pair.configuration.endpointA, "garbage never moves the endpoint")
    }
}
