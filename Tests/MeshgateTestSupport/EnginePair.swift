public import CryptoPrimitives
public import NetworkTypes
public import WireGuard

/// Two ``Engine``s configured as each other's peer and wired by an in-memory network, with no I/O.
///
/// The network is a FIFO of ``Datagram``s. Sending a packet runs the real data-plane sequence
/// (`prepareSend` → `seal` into a buffer with room around the packet); receiving one runs
/// `prepareReceive` → `open` in place → `completeReceive`, and records what reached each side's "TUN".
/// Everything an engine puts in its outbox joins the FIFO. A test can look at the FIFO, drop, reorder,
/// hold or mutate datagrams, or install a ``filter``; time moves only through ``clock``.
///
/// The same `seed` always produces byte-identical keys, indices and messages, so a scenario can be rebuilt
/// from scratch to replay one message with a single change. Not safe for concurrent use.
public final class EnginePair: @unchecked Sendable {
    /// One of the two engines. `a` is the side tests usually let initiate.
    public enum Side: Sendable, Hashable, CustomStringConvertible {
        case a
        case b

        public var other: Side { self == .a ? .b : .a }
        public var description: String { self == .a ? "A" : "B" }
    }

    /// A UDP datagram on the simulated network.
    public struct Datagram: Sendable, Equatable, CustomStringConvertible {
        /// The engine that emitted it.
        public var from: Side
        public var source: Endpoint
        public var destination: Endpoint
        public var bytes: [UInt8]
        /// When it was emitted.
        public var sentAt: Instant

        public init(from: Side, source: Endpoint, destination: Endpoint, bytes: [UInt8], sentAt: Instant) {
            self.from = from
            self.source = source
            self.destination = destination
            self.bytes = bytes
            self.sentAt = sentAt
        }

        /// The message type byte (1 initiation, 2 response, 3 cookie reply, 4 transport), or nil if empty.
        public var messageType: UInt8? { bytes.first }
        public var isInitiation: Bool { bytes.count == 148 && bytes.first == 1 }
        public var isResponse: Bool { bytes.count == 92 && bytes.first == 2 }
        public var isCookieReply: Bool { bytes.count == 64 && bytes.first == 3 }
        public var isTransport: Bool { bytes.count >= 32 && bytes.first == 4 }
        public var isKeepalive: Bool { bytes.count == 32 && bytes.first == 4 }

        public var description: String {
            let kind =
                isInitiation
                ? "initiation"
                : isResponse
                    ? "response"
                    : isCookieReply
                        ? "cookie-reply"
                        : isKeepalive
                            ? "keepalive"
                            : isTransport ? "transport" : "other"
            return "\(from)→\(destination) \(kind)(\(bytes.count) bytes)"
        }
    }

    /// What the network does with a datagram, decided by ``filter``.
    public enum Verdict: Sendable {
        case deliver
        case drop
        /// Kept aside in ``held`` until the test re-queues it.
        case hold
    }

    /// How a delivered datagram ended at the receiving engine.
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        /// A handshake or cookie message, processed.
        case handled
        /// Dropped with this reason (at `prepareReceive` or `completeReceive`).
        case dropped(DropReason)
        /// A transport message whose inner packet was written to the TUN: these bytes.
        case delivered([UInt8])
        /// An authenticated empty transport message.
        case keepalive
        /// Addressed to an endpoint neither side owns: lost.
        case unroutable

        public var description: String {
            switch self {
            case .handled: "handled"
            case .dropped(let reason): "dropped(\(reason.rawValue))"
            case .delivered(let bytes): "delivered(\(bytes.count) bytes)"
            case .keepalive: "keepalive"
            case .unroutable: "unroutable"
            }
        }
    }

    /// One delivery, as recorded in ``log``.
    public struct Delivery: Sendable {
        public var datagram: Datagram
        public var to: Side
        public var outcome: Outcome
        public var at: Instant
    }

    /// Per-test knobs.
    public struct Configuration: Sendable {
        public var seed: UInt64 = 1
        /// The preshared key each side configures for the other (nil: none).
        public var presharedKeyOnA: Key32? = nil
        public var presharedKeyOnB: Key32? = nil
        /// Outer endpoints; IPv6 endpoints exercise the IPv6 cookie source.
        public var endpointA = Endpoint("192.0.2.1:51820")!
        public var endpointB = Endpoint("198.51.100.2:51821")!
        /// Whether B knows A's endpoint up front (A always knows B's, so A can initiate).
        public var bKnowsEndpointOfA = true
        /// MTU passed to `seal`.
        public var mtu = 1420

        public init() {}
    }

    // MARK: Inner addressing: A owns 10.0.1.0/24 and fd00:1::/64, B owns 10.0.2.0/24 and fd00:2::/64.

    public static let subnetA4 = IPPrefix("10.0.1.0/24")!
    public static let subnetB4 = IPPrefix("10.0.2.0/24")!
    public static let subnetA6 = IPPrefix("fd00:1::/64")!
    public static let subnetB6 = IPPrefix("fd00:2::/64")!
    public static let hostA4 = IPAddress("10.0.1.1")!
    public static let hostB4 = IPAddress("10.0.2.1")!
    public static let hostA6 = IPAddress("fd00:1::1")!
    public static let hostB6 = IPAddress("fd00:2::1")!

    public let clock: ManualClock
    public let a: Engine
    public let b: Engine
    public let privateKeyA: Key32
    public let privateKeyB: Key32
    public let publicKeyA: Key32
    public let publicKeyB: Key32
    /// B as configured on A.
    public let peerOnA: Peer
    /// A as configured on B.
    public let peerOnB: Peer
    public let configuration: Configuration

    /// Where each side's datagrams currently come from.
    public private(set) var endpoints: [Side: Endpoint]
    /// Which side owns which endpoint (every endpoint a side ever used stays routed to it).
    private var owners: [Endpoint: Side]

    /// Datagrams on the wire, oldest first. Tests may edit this freely.
    public var inFlight: [Datagram] = []
    /// Datagrams a ``filter`` asked to hold.
    public var held: [Datagram] = []
    /// Decides the fate of each datagram ``pump(limit:)`` or ``step()`` takes off the wire; nil delivers all.
    public var filter: ((Datagram) -> Verdict)?
    /// Every delivery so far.
    public private(set) var log: [Delivery] = []
    /// Inner packets each side's engine delivered to its TUN, in order.
    public private(set) var tun: [Side: [[UInt8]]] = [.a: [], .b: []]

    private let aead = ChaCha20Poly1305()
    private var packetSequence: UInt16 = 0

    public init(_ configuration: Configuration = Configuration(), clock: ManualClock = ManualClock()) {
        self.configuration = configuration
        self.clock = clock
        let keys = SeededRandom(seed: configuration.seed &* 0x1000_0001 &+ 7)
        privateKeyA = X25519.generatePrivateKey(using: keys)
        privateKeyB = X25519.generatePrivateKey(using: keys)
        publicKeyA = X25519.publicKey(for: privateKeyA)
        publicKeyB = X25519.publicKey(for: privateKeyB)
        a = Engine(random: SeededRandom(seed: configuration.seed &* 2 &+ 1))
        b = Engine(random: SeededRandom(seed: configuration.seed &* 2 &+ 2))
        a.mtu = configuration.mtu
        b.mtu = configuration.mtu
        a.setPrivateKey(privateKeyA)
        b.setPrivateKey(privateKeyB)
        peerOnA = a.addPeer(publicKey: publicKeyB)!
        peerOnB = b.addPeer(publicKey: publicKeyA)!
        a.addAllowedIP(Self.subnetB4, for: peerOnA)
        a.addAllowedIP(Self.subnetB6, for: peerOnA)
        b.addAllowedIP(Self.subnetA4, for: peerOnB)
        b.addAllowedIP(Self.subnetA6, for: peerOnB)
        a.setEndpoint(configuration.endpointB, for: peerOnA)
        if configuration.bKnowsEndpointOfA { b.setEndpoint(configuration.endpointA, for: peerOnB) }
        if let psk = configuration.presharedKeyOnA { a.setPresharedKey(psk, for: peerOnA) }
        if let psk = configuration.presharedKeyOnB { b.setPresharedKey(psk, for: peerOnB) }
        endpoints = [.a: configuration.endpointA, .b: configuration.endpointB]
        owners = [configuration.endpointA: .a, configuration.endpointB: .b]
    }

    // MARK: - Accessors

    public func engine(_ side: Side) -> Engine { side == .a ? a : b }

    /// The peer object `side`'s engine keeps for the other side.
    public func peer(on side: Side) -> Peer { side == .a ? peerOnA : peerOnB }

    public func host4(_ side: Side) -> IPAddress { side == .a ? Self.hostA4 : Self.hostB4 }
    public func host6(_ side: Side) -> IPAddress { side == .a ? Self.hostA6 : Self.hostB6 }

    /// The earliest timer deadline of either engine.
    public var nextDeadline: Instant? { [a.nextDeadline, b.nextDeadline].compactMap { $0 }.min() }

    /// Makes `side`'s datagrams come from `endpoint` from now on (NAT rebinding, a roaming laptop).
    public func moveEndpoint(of side: Side, to endpoint: Endpoint) {
        endpoints[side] = endpoint
        owners[endpoint] = side
    }

    // MARK: - Sending

    /// A fresh UDP packet from `side`'s inner host to the other side's, distinct from every earlier one.
    public func makePacket(from side: Side, ipv6: Bool = false, payloadLength: Int = 24) -> [UInt8] {
        packetSequence &+= 1
        var payload = [UInt8](repeating: 0, count: payloadLength)
        for i in 0..<payloadLength { payload[i] = UInt8(truncatingIfNeeded: Int(packetSequence) &* 31 &+ i) }
        let (source, destination) =
            ipv6 ? (host6(side), host6(side.other)) : (host4(side), host4(side.other))
        return IPPacketBuilder.udp(
            from: source, to: destination, sourcePort: 40_000 &+ packetSequence, payload: payload,
            identification: packetSequence)
    }

    /// Runs the send path for `packet` on `side`: a `.send` decision is sealed and put on the wire; the outbox
    /// (an initiation, flushed packets) follows it. Returns the engine's decision.
    @discardableResult
    public func send(_ packet: [UInt8], from side: Side) -> SendDecision {
        let engine = engine(side)
        let decision = packet.withUnsafeBytes { engine.prepareSend(packet: $0, now: clock.now) }
        if case .send(let ticket) = decision {
            let bytes = Self.seal(packet, ticket: ticket, mtu: configuration.mtu, aead: aead)
            inFlight.append(
                Datagram(
                    from: side, source: endpoints[side]!, destination: ticket.endpoint, bytes: bytes,
                    sentAt: clock.now.monotonic))
        }
        collectOutboxes()
        return decision
    }

    /// Seals `packet` with `ticket` the way a data plane does: the packet at offset 16 of a buffer with room
    /// for the header, padding and tag. Returns the datagram.
    public static func seal(_ packet: [UInt8], ticket: SendTicket, mtu: Int, aead: ChaCha20Poly1305) -> [UInt8] {
        let header = TransportDataLayout.headerSize
        var buffer = [UInt8](repeating: 0xee, count: packet.count + header + 16 + 16)
        let length = buffer.withUnsafeMutableBytes { raw -> Int in
            for (i, byte) in packet.enumerated() { raw[header + i] = byte }
            return Engine.seal(ticket, buffer: raw, payloadLength: packet.count, mtu: mtu, aead: aead)
        }
        return Array(buffer[0..<length])
    }

    /// Moves both outboxes onto the wire, A's first.
    public func collectOutboxes() {
        for side in [Side.a, .b] {
            for out in engine(side).takeOutbox() {
                inFlight.append(
                    Datagram(
                        from: side, source: endpoints[side]!, destination: out.endpoint, bytes: out.bytes,
                        sentAt: clock.now.monotonic))
            }
        }
    }

    // MARK: - Receiving

    /// Runs the receive path of `side` on `bytes` as if they came from `source`, then collects the outboxes.
    @discardableResult
    public func receive(_ bytes: [UInt8], at side: Side, from source: Endpoint) -> Outcome {
        let outcome = Self.receive(bytes, by: engine(side), from: source, now: clock.now, aead: aead)
        if case .delivered(let inner) = outcome { tun[side, default: []].append(inner) }
        collectOutboxes()
        return outcome
    }

    /// The data plane's receive sequence against one engine: classify, open in place, complete.
    public static func receive(
        _ bytes: [UInt8], by engine: Engine, from source: Endpoint, now: Moment, aead: ChaCha20Poly1305
    ) -> Outcome {
        let decision = bytes.withUnsafeBytes { engine.prepareReceive(datagram: $0, from: source, now: now) }
        switch decision {
        case .handled:
            return .handled
        case .drop(let reason):
            return .dropped(reason)
        case .open(let ticket):
            var buffer = bytes
            return buffer.withUnsafeMutableBytes { raw -> Outcome in
                let ok = Engine.open(ticket, datagram: raw, aead: aead)
                let result = engine.completeReceive(
                    ticket, opened: ok ? UnsafeRawBufferPointer(raw) : nil, from: source, now: now)
                switch result {
                case .deliver(let length):
                    let start = TransportDataLayout.headerSize
                    return .delivered(Array(raw[start..<(start + length)]))
                case .keepalive:
                    return .keepalive
                case .drop(let reason):
                    return .dropped(reason)
                }
            }
        }
    }

    /// Delivers one datagram to whichever side owns its destination (ignoring ``filter``).
    @discardableResult
    public func deliver(_ datagram: Datagram) -> Outcome {
        guard let side = owners[datagram.destination] else {
            log.append(
                Delivery(datagram: datagram, to: datagram.from.other, outcome: .unroutable, at: clock.now.monotonic))
            return .unroutable
        }
        let outcome = receive(datagram.bytes, at: side, from: datagram.source)
        log.append(Delivery(datagram: datagram, to: side, outcome: outcome, at: clock.now.monotonic))
        return outcome
    }

    /// Takes the oldest datagram off the wire and applies ``filter``; returns the outcome if it was delivered.
    @discardableResult
    public func step() -> Outcome? {
        collectOutboxes()
        guard !inFlight.isEmpty else { return nil }
        let datagram = inFlight.removeFirst()
        switch filter?(datagram) ?? .deliver {
        case .deliver: return deliver(datagram)
        case .drop: return nil
        case .hold:
            held.append(datagram)
            return nil
        }
    }

    /// Delivers until the wire is empty (replies included). Returns the outcomes of the deliveries made.
    @discardableResult
    public func pump(limit: Int = 100_000) -> [Outcome] {
        var outcomes: [Outcome] = []
        var steps = 0
        collectOutboxes()
        while !inFlight.isEmpty, steps < limit {
            steps += 1
            if let outcome = step() { outcomes.append(outcome) }
        }
        return outcomes
    }

    /// Puts every held datagram back on the wire (at the end, in the order held).
    public func releaseHeld() {
        inFlight += held
        held.removeAll()
    }

    /// Removes and returns the datagrams on the wire.
    public func takeInFlight() -> [Datagram] {
        collectOutboxes()
        defer { inFlight.removeAll() }
        return inFlight
    }

    // MARK: - Time

    /// Ticks both engines at the current time and collects their outboxes.
    public func tick() {
        a.tick(now: clock.now)
        b.tick(now: clock.now)
        collectOutboxes()
    }

    /// Lets `duration` pass: pumps the network, then jumps from deadline to deadline, ticking both engines and
    /// pumping at each, and finally ticks at the end time. Returns false if the engines kept a deadline in the
    /// past after a tick (a timer that never clears), which would otherwise loop forever.
    @discardableResult
    public func run(for duration: Duration) -> Bool {
        let end = clock.now.monotonic + duration
        pump()
        var iterations = 0
        while let deadline = nextDeadline, deadline <= end {
            iterations += 1
            if iterations > 100_000 { return false }
            clock.advance(to: deadline)
            tick()
            pump()
        }
        clock.advance(to: end)
        tick()
        pump()
        return true
    }
}
