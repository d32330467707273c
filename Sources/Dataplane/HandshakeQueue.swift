import LinuxSystem
import NetworkTypes
import Synchronization

/// Handshake messages copied off the receive path for the handshake thread: a fixed ring allocated once,
/// which refuses what does not fit. A flood of handshake messages costs ring slots and the handshake
/// thread's time, never the packet threads' (whitepaper §5.3; wireguard-go queues 1,024 the same way).
final class HandshakeQueue: @unchecked Sendable {
    /// The largest handshake message (an initiation).
    static let slotSize = 148

    let capacity: Int
    /// Signalled when the ring goes from empty to not empty.
    let wake: WakeEvent

    private struct Ring {
        var head = 0
        var count = 0
        var lengths: [Int]
        var sources: [Endpoint]
    }
    private let storage: UnsafeMutableRawBufferPointer
    private let ring: Mutex<Ring>

    init(capacity: Int) throws(SystemError) {
        self.capacity = capacity
        self.wake = try WakeEvent()
        self.storage = .allocate(byteCount: capacity * HandshakeQueue.slotSize, alignment: 16)
        let nowhere = Endpoint(address: .v4(IPv4Address(value: 0)), port: 0)
        self.ring = Mutex(
            Ring(
                lengths: [Int](repeating: 0, count: capacity), sources: [Endpoint](repeating: nowhere, count: capacity))
        )
    }

    deinit { storage.deallocate() }

    /// Queues a copy of `message`; false if the ring is full or the message is larger than a slot.
    func push(_ message: UnsafeRawBufferPointer, from source: Endpoint) -> Bool {
        guard message.count <= HandshakeQueue.slotSize else { return false }
        let wasEmpty: Bool? = ring.withLock { ring in
            guard ring.count < capacity else { return nil }
            let slot = (ring.head + ring.count) % capacity
            UnsafeMutableRawBufferPointer(rebasing: storage[(slot * HandshakeQueue.slotSize)...])
                .copyMemory(from: message)
            ring.lengths[slot] = message.count
            ring.sources[slot] = source
            ring.count += 1
            return ring.count == 1
        }
        guard let wasEmpty else { return false }
        if wasEmpty { wake.signal() }
        return true
    }

    /// Moves up to `limit` messages into `buffer` (slots of ``slotSize`` bytes), their lengths and sources
    /// into the arrays; returns how many, and how many were queued before (the load signal).
    func pop(
        into buffer: UnsafeMutableRawBufferPointer, lengths: inout [Int], sources: inout [Endpoint], limit: Int
    ) -> (count: Int, depth: Int) {
        ring.withLock { ring in
            let depth = ring.count
            let n = min(limit, ring.count)
            for i in 0..<n {
                let slot = (ring.head + i) % capacity
                let from = slot * HandshakeQueue.slotSize
                UnsafeMutableRawBufferPointer(rebasing: buffer[(i * HandshakeQueue.slotSize)...])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: storage[from..<(from + ring.lengths[slot])]))
                lengths[i] = ring.lengths[slot]
                sources[i] = ring.sources[slot]
            }
            ring.head = (ring.head + n) % capacity
            ring.count -= n
            return (n, depth)
        }
    }
}
