public import CryptoPrimitives
import Glibc
public import LinuxSystem
public import Logging
import NetworkTypes
public import Synchronization
public import WireGuard

/// A running WireGuard interface: a TUN device, a UDP socket and the ``Engine``, driven by three threads.
///
/// Outbound flow (thread `wg-tun-rx`): read a batch of packets from the TUN device → under the engine
/// lock, route each and reserve counters (`prepareSend`) → seal each outside the lock → one `sendmmsg`.
/// Inbound flow (thread `wg-udp-rx`): one `recvmmsg` batch → under the lock, classify (`prepareReceive`;
/// handshakes are handled there) → open each outside the lock → under the lock, replay check, rotation and
/// source check (`completeReceive`) → write each delivered packet to the TUN device. Handshake messages
/// are not handled there: they are copied into a bounded queue for thread `wg-handshake`, which admits
/// them (mac1, mac2 or a cookie reply, rate limit, the first DH) outside the engine lock at a lower
/// priority and takes the lock once per admitted message, so a handshake flood costs neither the packet
/// threads' time nor long waits for the lock. Thread `wg-timers` ticks the protocol timers. One thread
/// per direction keeps every peer's packets in order and puts the two directions' crypto on different
/// cores. Buffers are allocated once per thread.
public final class Device: @unchecked Sendable {
    public let interfaceName: String
    let tun: TunDevice
    /// The protocol engine; every call except seal/open happens under this lock.
    public let engine: Mutex<Engine>
    let logger: Logger

    /// Socket state, swapped as a unit when `listen_port` changes.
    private struct SocketState {
        var socket: UDPSocket
        var firewallMark: UInt32
    }
    private let socketState: Mutex<SocketState>
    private let stopEvent: WakeEvent
    /// Wakes the timer thread early: handshake events to report, or datagrams another thread queued.
    private let timerWake: WakeEvent
    private let handshakes: HandshakeQueue
    /// Cookie secrets and nonces for the handshake thread (the engine's own source, which is thread-safe).
    private let random: any RandomSource
    private var threads: [OSThread] = []
    /// Called on the timer thread with every handshake event (after it is logged). Set before ``start()``.
    public var eventHandler: (@Sendable (HandshakeEvent) -> Void)?
    /// The TUN MTU, refreshed by the timer thread; used for padding.
    private let mtu: Atomic<Int>

    /// Datagrams per batched receive.
    static let batchSize = 64
    /// Handshake messages waiting for the handshake thread, as wireguard-go's `QueueHandshakeSize`.
    static let handshakeQueueCapacity = 1024
    /// Queued handshake messages at which we count as under load (whitepaper §5.3), as the kernel's
    /// one eighth of its queue.
    static let underLoadQueueDepth = handshakeQueueCapacity / 8
    /// Nice value of the handshake thread: when the CPU is short, the packet threads go first.
    static let handshakeThreadNice: Int32 = 10
    /// Outbound slots: enough for two TCP super-packets of 64 KiB at a 1280-byte MTU.
    static let outboundBatchSize = 128
    /// Most segments one TUN read can produce at a sane MSS (64 KiB / 1200 bytes); smaller ones still
    /// fit in the remaining slots or are counted as drops.
    static let maxSegmentsPerRead = 56
    /// Buffer per packet: enough for a 9000-byte jumbo MTU plus header, padding and tag.
    static let bufferSize = 9216
    /// wireguard-go's default MTU for the TUN device, which `wg-quick` may change.
    public static let defaultMTU = 1420

    /// Creates the TUN interface `interfaceName` (down, no address: like wireguard-go, configuring it is the
    /// caller's job) and binds a UDP socket on a random port.
    public init(interfaceName: String, random: any RandomSource, logger: Logger) throws(SystemError) {
        let tun = try TunDevice(name: interfaceName, offloads: true)
        try tun.setMTU(Device.defaultMTU)
        self.tun = tun
        self.interfaceName = tun.name
        self.engine = Mutex(Engine(random: random))
        self.random = random
        self.logger = logger
        self.socketState = Mutex(SocketState(socket: try UDPSocket(port: 0), firewallMark: 0))
        self.stopEvent = try WakeEvent()
        self.timerWake = try WakeEvent()
        self.handshakes = try HandshakeQueue(capacity: Device.handshakeQueueCapacity)
        self.mtu = Atomic(Device.defaultMTU)
    }

    /// Starts the packet and timer threads.
    public func start() {
        threads.append(OSThread(name: "wg-tun-rx") { [self] in outboundLoop() })
        threads.append(OSThread(name: "wg-udp-rx") { [self] in inboundLoop() })
        threads.append(OSThread(name: "wg-handshake") { [self] in handshakeLoop() })
        threads.append(OSThread(name: "wg-timers") { [self] in timerLoop() })
    }

    /// Stops the threads and closes the TUN device (which removes the interface).
    public func stop() {
        stopEvent.signal()
        for thread in threads { thread.join() }
        threads.removeAll()
        tun.close()
        socketState.withLock { $0.socket.close() }
    }

    /// The bound UDP port.
    public var listenPort: UInt16 { socketState.withLock { $0.socket.port } }

    // MARK: - Clock

    public static func now() -> Moment {
        let wall = SystemClock.wallTime()
        return Moment(
            monotonic: Instant(nanoseconds: SystemClock.monotonicNanoseconds()),
            wall: WallTime(seconds: wall.seconds, nanoseconds: wall.nanoseconds))
    }

    // MARK: - Packet loops

    private func outboundLoop() {
        let batch = DatagramBatch(capacity: Device.outboundBatchSize, bufferSize: Device.bufferSize)
        let aead = ChaCha20Poly1305()
        var decisions = [SendDecision](repeating: .staged, count: Device.outboundBatchSize)
        var lengths = [Int](repeating: 0, count: Device.outboundBatchSize)
        let header = TransportDataLayout.headerSize
        let slotCapacity = Device.bufferSize - header - TransportDataLayout.overhead
        // One TUN read: a virtio header and up to 64 KiB of TCP super-packet when offloads are on.
        let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536 + 64, alignment: 16)
        defer { readBuffer.deallocate() }
        let virtio = tun.hasOffloads ? TunDevice.virtioHeaderSize : 0

        func slot(_ i: Int) -> UnsafeMutableRawBufferPointer {
            UnsafeMutableRawBufferPointer(rebasing: batch.buffer(i)[header..<(header + slotCapacity)])
        }

        /// Routes, seals and sends slots 0..<n.
        func flush(_ n: Int) {
            let now = Device.now()
            let (outbox, hasEvents) = engine.withLock { engine -> ([OutboundDatagram]?, Bool) in
                for i in 0..<n {
                    let packet = UnsafeRawBufferPointer(slot(i))
                    decisions[i] = engine.prepareSend(
                        packet: UnsafeRawBufferPointer(rebasing: packet[0..<lengths[i]]), now: now)
                }
                return (engine.hasOutbound ? engine.takeOutbox() : nil, engine.hasEvents)
            }
            // Outside the lock: the timer thread takes the events under it.
            if hasEvents { timerWake.signal() }
            let mtu = self.mtu.load(ordering: .relaxed)
            for i in 0..<n {
                guard case .send(let ticket) = decisions[i] else { continue }
                let length = Engine.seal(
                    ticket, buffer: batch.buffer(i), payloadLength: lengths[i], mtu: mtu, aead: aead)
                batch.queue(slot: i, length: length, to: ticket.endpoint)
            }
            let socket = socketState.withLock { $0.socket }
            _ = batch.send(on: socket)
            if let outbox { send(outbox, on: socket) }
        }

        while waitReadable(tun.descriptor.rawValue, wake: stopEvent) {
            var n = 0
            while true {
                let read: Int?
                do {
                    read = try tun.read(into: readBuffer)
                } catch {
                    logger.error("TUN read failed, interface gone? Shutting down", metadata: ["error": "\(error)"])
                    // Process-directed, so the main thread's sigwait sees it (raise() would target this thread).
                    kill(getpid(), SIGTERM)
                    return
                }
                guard let length = read else { break }
                guard length > virtio else { continue }
                let packet = UnsafeRawBufferPointer(rebasing: readBuffer[virtio..<length])
                let virtioHeader =
                    virtio > 0
                    ? TCPSegmentation.VirtioHeader(UnsafeRawBufferPointer(rebasing: readBuffer[0..<virtio]))
                    : TCPSegmentation.VirtioHeader.none
                // Keep room for the largest super-packet; send what we have first if it might not fit.
                if Device.outboundBatchSize - n < Device.maxSegmentsPerRead {
                    flush(n)
                    n = 0
                }
                do {
                    n += try TCPSegmentation.split(
                        header: virtioHeader, packet: packet, maxSegments: Device.outboundBatchSize - n,
                        slot: { slot(n + $0) }, emit: { lengths[n + $0] = $1 })
                } catch .tooManySegments where n > 0 {
                    // A small-MSS super-packet: send what is queued, then split into the emptied batch.
                    flush(n)
                    n = 0
                    do {
                        n += try TCPSegmentation.split(
                            header: virtioHeader, packet: packet, maxSegments: Device.outboundBatchSize,
                            slot: { slot($0) }, emit: { lengths[$0] = $1 })
                    } catch {
                        engine.withLock { $0.recordDrop(.packetTooLarge) }
                    }
                } catch .tooManySegments {
                    engine.withLock { $0.recordDrop(.packetTooLarge) }
                } catch {
                    engine.withLock { $0.recordDrop(.malformedInnerPacket) }
                }
                if n >= Device.outboundBatchSize - Device.maxSegmentsPerRead { break }
            }
            if n > 0 { flush(n) }
        }
    }

    private func inboundLoop() {
        let batch = DatagramBatch(capacity: Device.batchSize, bufferSize: Device.bufferSize)
        let aead = ChaCha20Poly1305()
        var decisions = [ReceiveDecision](repeating: .handled, count: Device.batchSize)
        var opened = [Bool](repeating: false, count: Device.batchSize)
        var deliveries = [DeliverDecision](repeating: .keepalive, count: Device.batchSize)
        var isHandshake = [Bool](repeating: false, count: Device.batchSize)
        var socket = socketState.withLock { $0.socket }
        let coalescer: TCPCoalescer? = tun.hasOffloads ? TCPCoalescer() : nil
        while true {
            // Poll with a timeout so a socket swapped by `listen_port` is picked up promptly.
            guard waitReadable(socket.descriptor.rawValue, wake: stopEvent, timeoutMilliseconds: 250) else { return }
            let current = socketState.withLock { $0.socket }
            if current !== socket {
                socket = current
                continue
            }
            let n: Int
            do {
                n = try batch.receive(from: socket)
            } catch {
                logger.error("UDP receive failed", metadata: ["error": "\(error)"])
                continue
            }
            if n == 0 { continue }
            // Handshake messages go to the handshake thread's queue, outside the engine lock.
            var queueFull: UInt64 = 0
            var transport = 0
            for i in 0..<n {
                let datagram = UnsafeRawBufferPointer(batch.datagram(i))
                isHandshake[i] = Device.isHandshakeMessage(datagram)
                if isHandshake[i] {
                    decisions[i] = .handled
                    if !handshakes.push(datagram, from: batch.source(i)) { queueFull += 1 }
                } else {
                    transport += 1
                }
            }
            if transport == 0 {
                if queueFull > 0 { engine.withLock { $0.recordDrop(.handshakeQueueFull, count: queueFull) } }
                continue
            }
            let now = Device.now()
            engine.withLock { engine in
                if queueFull > 0 { engine.recordDrop(.handshakeQueueFull, count: queueFull) }
                for i in 0..<n where !isHandshake[i] {
                    decisions[i] = engine.prepareReceive(
                        datagram: UnsafeRawBufferPointer(batch.datagram(i)), from: batch.source(i), now: now)
                }
            }
            for i in 0..<n {
                guard case .open(let ticket) = decisions[i] else { continue }
                opened[i] = Engine.open(ticket, datagram: batch.datagram(i), aead: aead)
            }
            let (outbox, hasEvents) = engine.withLock { engine -> ([OutboundDatagram]?, Bool) in
                for i in 0..<n {
                    guard case .open(let ticket) = decisions[i] else {
                        deliveries[i] = .keepalive
                        continue
                    }
                    deliveries[i] = engine.completeReceive(
                        ticket, opened: opened[i] ? UnsafeRawBufferPointer(batch.datagram(i)) : nil,
                        from: batch.source(i), now: now)
                }
                return (engine.hasOutbound ? engine.takeOutbox() : nil, engine.hasEvents)
            }
            if hasEvents { timerWake.signal() }
            let header = TransportDataLayout.headerSize
            // Each write is on its own: one packet the kernel refuses must not cost the rest of the batch.
            for i in 0..<n {
                guard case .deliver(let length) = deliveries[i] else { continue }
                let datagram = batch.datagram(i)
                let packet = UnsafeRawBufferPointer(rebasing: datagram[header..<(header + length)])
                do {
                    if let coalescer {
                        if coalescer.append(packet) { continue }
                        try flushCoalescer(coalescer)
                        if coalescer.start(packet) { continue }
                        // A zeroed virtio header over the spent transport header: no GSO, checksums complete.
                        let virtio = TunDevice.virtioHeaderSize
                        UnsafeMutableRawBufferPointer(rebasing: datagram[(header - virtio)..<header])
                            .initializeMemory(as: UInt8.self, repeating: 0)
                        try tun.write(UnsafeRawBufferPointer(rebasing: datagram[(header - virtio)..<(header + length)]))
                    } else {
                        try tun.write(packet)
                    }
                } catch {
                    noteTunWriteFailure(error)
                }
            }
            if let coalescer {
                do { try flushCoalescer(coalescer) } catch { noteTunWriteFailure(error) }
            }
            if let outbox { send(outbox, on: socket) }
        }
    }

    /// A datagram whose type word is a handshake initiation, response or cookie reply.
    static func isHandshakeMessage(_ datagram: UnsafeRawBufferPointer) -> Bool {
        guard datagram.count >= 4 else { return false }
        let type = UInt32(littleEndian: datagram.loadUnaligned(as: UInt32.self))
        return type >= MessageType.handshakeInitiation.rawValue && type <= MessageType.cookieReply.rawValue
    }

    /// Thread `wg-handshake`: drains the handshake queue. Admission runs outside the engine lock; the
    /// lock is taken once per admitted message and once per batch for the counters.
    private func handshakeLoop() {
        OSThread.lowerCurrentPriority(nice: Device.handshakeThreadNice)
        let limit = Device.batchSize
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: limit * HandshakeQueue.slotSize, alignment: 16)
        defer { buffer.deallocate() }
        let nowhere = Endpoint(address: .v4(IPv4Address(value: 0)), port: 0)
        var lengths = [Int](repeating: 0, count: limit)
        var sources = [Endpoint](repeating: nowhere, count: limit)
        var refused: [DropReason] = []
        refused.reserveCapacity(limit)
        var replies: [OutboundDatagram] = []
        var admission: HandshakeAdmission?
        while waitReadable(handshakes.wake.descriptor.rawValue, wake: stopEvent) {
            handshakes.wake.drain()
            while true {
                let (n, depth) = handshakes.pop(into: buffer, lengths: &lengths, sources: &sources, limit: limit)
                if n == 0 { break }
                let (identity, forced) = engine.withLock { ($0.identity, $0.forceUnderLoad) }
                if identity?.publicKey != admission?.identity.publicKey {
                    admission = identity.map { HandshakeAdmission(identity: $0) }
                }
                let underLoad = forced || depth >= Device.underLoadQueueDepth
                let now = Device.now()
                var outbox: [OutboundDatagram] = []
                var hasEvents = false
                for i in 0..<n {
                    guard var gate = admission else {
                        refused.append(.noPrivateKey)
                        continue
                    }
                    let start = i * HandshakeQueue.slotSize
                    let message = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + lengths[i])])
                    let verdict = gate.admit(
                        message, from: sources[i], now: now.monotonic, underLoad: underLoad, random: random)
                    admission = gate
                    switch verdict {
                    case .refused(let reason):
                        refused.append(reason)
                    case .cookieReply(let reply):
                        refused.append(.underLoadCookieSent)
                        replies.append(OutboundDatagram(bytes: reply, endpoint: sources[i]))
                    case .admitted(var handshake):
                        // One message per lock hold: the packet threads wait for one handshake at most.
                        engine.withLock { engine in
                            engine.receive(handshake, from: sources[i], now: now)
                            if engine.hasOutbound { outbox += engine.takeOutbox() }
                            hasEvents = hasEvents || engine.hasEvents
                        }
                        handshake.wipe()
                    }
                }
                if !refused.isEmpty {
                    engine.withLock { engine in
                        for reason in refused { engine.recordRefusedHandshake(reason) }
                    }
                    refused.removeAll(keepingCapacity: true)
                    hasEvents = true
                }
                if hasEvents { timerWake.signal() }
                let socket = socketState.withLock { $0.socket }
                if !replies.isEmpty {
                    send(replies, on: socket)
                    replies.removeAll(keepingCapacity: true)
                }
                if !outbox.isEmpty { send(outbox, on: socket) }
            }
        }
    }

    private func flushCoalescer(_ coalescer: TCPCoalescer) throws(SystemError) {
        try coalescer.flush(to: tun)
    }

    private func noteTunWriteFailure(_ error: SystemError) {
        engine.withLock { $0.recordDrop(.malformedInnerPacket) }
        logger.debug("TUN write failed", metadata: ["error": "\(error)"])
    }

    /// Has the timer thread look at the engine now: call after changing the engine from outside the packet
    /// threads (a handshake started, a keepalive queued), so what it queued goes out at once.
    public func nudgeTimers() { timerWake.signal() }

    /// The timer thread wakes at least this often (the MTU refresh, and timers armed meanwhile).
    static let longestTimerSleep: Duration = .seconds(1)

    /// `duration` in whole milliseconds, rounded up (waking early only finds nothing due), at least 1.
    static func milliseconds(rounding duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: max(1, ms))
    }

    private func timerLoop() {
        var lastMTURefresh = Instant(nanoseconds: 0)
        var sleep = Device.longestTimerSleep
        while true {
            // Sleeping in poll on the stop event doubles as the stop check.
            var fds = [
                pollfd(fd: stopEvent.descriptor.rawValue, events: Int16(POLLIN), revents: 0),
                pollfd(fd: timerWake.descriptor.rawValue, events: Int16(POLLIN), revents: 0),
            ]
            _ = poll(&fds, 2, Device.milliseconds(rounding: sleep))
            if fds[0].revents != 0 { return }
            if fds[1].revents != 0 { timerWake.drain() }
            let now = Device.now()
            let (outbox, events, next) = engine.withLock { engine in
                engine.tick(now: now)
                return (engine.takeOutbox(), engine.takeEvents(), engine.nextDeadline)
            }
            // Until the engine's next timer, but at least once a second: every timer the packet threads
            // arm lies a second or more ahead (rekey-timeout 5 s, keepalive-timeout 10 s, persistent
            // keepalive ≥ 1 s), so waking once a second to look again never fires one late.
            sleep = min(
                next.map { $0 > now.monotonic ? $0.duration(since: now.monotonic) : .zero } ?? Device.longestTimerSleep,
                Device.longestTimerSleep)
            if !outbox.isEmpty { send(outbox, on: socketState.withLock { $0.socket }) }
            for event in events {
                log(event)
                eventHandler?(event)
            }
            if now.monotonic.duration(since: lastMTURefresh) >= .seconds(1) {
                lastMTURefresh = now.monotonic
                if let value = try? tun.mtu(), value != mtu.load(ordering: .relaxed) {
                    mtu.store(value, ordering: .relaxed)
                    engine.withLock { $0.mtu = value }
                }
            }
        }
    }

    func send(_ datagrams: [OutboundDatagram], on socket: UDPSocket) {
        for datagram in datagrams {
            let code = datagram.bytes.withUnsafeBytes { socket.send($0, to: datagram.endpoint) }
            if code != 0 {
                logger.debug("send failed", metadata: ["endpoint": "\(datagram.endpoint)", "errno": "\(code)"])
            }
        }
    }

    private func log(_ event: HandshakeEvent) {
        switch event {
        case .initiationSent(let peer, let retry):
            logger.debug("\(peer.shortIdentifier): sending handshake initiation\(retry ? " (retry)" : "")")
        case .initiationConsumed(let peer):
            logger.debug("\(peer.shortIdentifier): received handshake initiation, sending response")
        case .completed(let peer):
            logger.info("\(peer.shortIdentifier): handshake complete")
        case .gaveUp(let peer):
            logger.warning(
                "\(peer.shortIdentifier): handshake did not complete after \(Implementation.maxHandshakeAttempts) attempts, giving up"
            )
        case .refused(let reason):
            logger.debug("handshake message dropped", metadata: ["reason": "\(reason.rawValue)"])
        }
    }

    // MARK: - Configuration (UAPI)

    /// Answers one UAPI request; the text reply (possibly empty: close the connection).
    public func handle(_ request: UAPIRequest) -> String {
        switch request {
        case .get:
            return UAPICodec.formatGet(snapshot())
        case .set(let lines):
            switch UAPICodec.parseSet(lines) {
            case .failure(let error):
                logger.warning("UAPI set refused: \(error)")
                return UAPICodec.formatError(error)
            case .success(let change):
                if let error = apply(change) { return UAPICodec.formatError(error) }
                return UAPICodec.successReply
            }
        case .invalid(let line):
            logger.warning("UAPI: invalid request line \(line.debugDescription)")
            return ""
        case .failed(let error):
            return UAPICodec.formatError(error)
        }
    }

    /// Peers copied per engine-lock hold by ``snapshot()``.
    static let snapshotChunk = 256

    /// The device as `get=1` reports it. With many peers it is copied a chunk at a time, releasing the
    /// engine lock in between, so a dump of 10,000 peers never holds up the packet threads for long
    /// (like the kernel's multi-part netlink dump, it is not one atomic picture of all peers).
    public func snapshot() -> UAPIDeviceSnapshot {
        let (port, mark) = socketState.withLock { ($0.socket.port, $0.firewallMark) }
        let (privateKey, keys) = engine.withLock { ($0.identity?.privateKey, $0.peerKeys) }
        var peers: [UAPIPeerSnapshot] = []
        peers.reserveCapacity(keys.count)
        var start = 0
        while start < keys.count {
            let end = min(start + Device.snapshotChunk, keys.count)
            engine.withLock { engine in
                for key in keys[start..<end] {
                    if let snapshot = engine.peerSnapshot(publicKey: key) { peers.append(snapshot) }
                }
            }
            start = end
        }
        return UAPIDeviceSnapshot(privateKey: privateKey, listenPort: port, firewallMark: mark, peers: peers)
    }

    /// One round of direct-link liveness (``Engine/livenessRound(of:pollAfter:now:)``): the keepalives and
    /// polls it owes go out at once, and what it learned of each peer's link comes back.
    public func livenessRound(of keys: [Key32], pollAfter: Duration) -> [Key32: LinkActivity] {
        let now = Device.now()
        let (activity, outbox) = engine.withLock { engine in
            (engine.livenessRound(of: keys, pollAfter: pollAfter, now: now), engine.takeOutbox())
        }
        if !outbox.isEmpty { send(outbox, on: socketState.withLock { $0.socket }) }
        return activity
    }

    /// Sets the TUN interface's MTU (padding follows within a second).
    public func setMTU(_ mtu: Int) throws(SystemError) {
        try tun.setMTU(mtu)
        self.mtu.store(mtu, ordering: .relaxed)
        engine.withLock { $0.mtu = mtu }
    }

    /// Applies a parsed change all-or-nothing: the only step that can fail (binding a new port) runs first.
    public func apply(_ change: UAPIConfigurationChange) -> UAPIError? {
        var newSocket: UDPSocket?
        if let port = change.listenPort, port != listenPort || port == 0 {
            do {
                newSocket = try UDPSocket(port: port)
            } catch {
                logger.warning("UAPI set refused: cannot bind UDP port \(port): \(error)")
                return .bindFailed("listen_port \(port): \(error)")
            }
        }
        let mark = change.firewallMark ?? socketState.withLock { $0.firewallMark }
        if let newSocket, mark != 0 { try? newSocket.setFirewallMark(mark) }
        // The DHs for new peers first, outside the lock (10,000 of them take about half a second).
        let identity = engine.withLock { $0.identity }
        let precomputed = Engine.staticStatics(for: change, identity: identity)
        let now = Device.now()
        let outbox = engine.withLock { engine in
            engine.apply(change, now: now, precomputed: precomputed)
            return engine.takeOutbox()
        }
        var (socket, retired) = socketState.withLock { state -> (UDPSocket, UDPSocket?) in
            let old = newSocket == nil ? nil : state.socket
            if let newSocket { state.socket = newSocket }
            if change.firewallMark != nil, newSocket == nil { try? state.socket.setFirewallMark(mark) }
            state.firewallMark = mark
            return (state.socket, old)
        }
        send(outbox, on: socket)
        // The socket a listen_port change replaced: released here, and waited for (at most 1 s) until the
        // last packet thread lets go of it, so that when the UAPI answers, the old port is closed (`ss -uan`
        // no longer shows it). Shutting it down wakes the receive thread from its poll; the descriptor
        // closes with the last reference, so no thread ever uses a closed descriptor number.
        if let old = retired {
            shutdown(old.descriptor.rawValue, Int32(SHUT_RDWR))
            weak let watched = old
            retired = nil
            _ = consume old
            let deadline = Device.now().monotonic.nanoseconds + 1_000_000_000
            while watched != nil && Device.now().monotonic.nanoseconds < deadline { usleep(1000) }
            if watched != nil {
                logger.warning("the previous UDP socket is still in use 1 s after a listen_port change")
            }
        }
        return nil
    }
}
