import NetworkTypes
import Testing

@testable import Dataplane

@Suite("Handshake queue")
struct HandshakeQueueTests {
    static func message(_ tag: UInt8, length: Int = HandshakeQueue.slotSize) -> [UInt8] {
        [1, 0, 0, 0] + [UInt8](repeating: tag, count: length - 4)
    }

    @Test("keeps order and sources across the wrap-around, refuses what does not fit, reports the depth")
    func ringSemantics() throws {
        let queue = try HandshakeQueue(capacity: 4)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 * HandshakeQueue.slotSize, alignment: 16)
        defer { buffer.deallocate() }
        var lengths = [Int](repeating: 0, count: 4)
        var sources = [Endpoint](repeating: Endpoint("0.0.0.0:0")!, count: 4)
        func push(_ bytes: [UInt8], port: UInt16) -> Bool {
            bytes.withUnsafeBytes { queue.push($0, from: Endpoint(address: IPAddress("192.0.2.9")!, port: port)) }
        }
        func bytes(_ i: Int) -> [UInt8] {
            Array(buffer[(i * HandshakeQueue.slotSize)..<(i * HandshakeQueue.slotSize + lengths[i])])
        }

        #expect(!push([UInt8](repeating: 1, count: HandshakeQueue.slotSize + 1), port: 1), "larger than a slot")
        for i in 0..<4 { #expect(push(Self.message(UInt8(i), length: 64 + i), port: UInt16(i))) }
        #expect(!push(Self.message(9), port: 9), "full")
        var (n, depth) = queue.pop(into: buffer, lengths: &lengths, sources: &sources, limit: 3)
        #expect(n == 3 && depth == 4)
        #expect((0..<3).map { bytes($0) } == (0..<3).map { Self.message(UInt8($0), length: 64 + $0) })
        #expect(sources.prefix(3).map(\.port) == [0, 1, 2])
        // Two more go into the slots freed at the front of the ring.
        #expect(push(Self.message(4), port: 4))
        #expect(push(Self.message(5, length: 92), port: 5))
        (n, depth) = queue.pop(into: buffer, lengths: &lengths, sources: &sources, limit: 4)
        #expect(n == 3 && depth == 3)
        #expect(
            (0..<3).map { bytes($0) } == [Self.message(3, length: 67), Self.message(4), Self.message(5, length: 92)])
        #expect(sources.prefix(3).map(\.port) == [3, 4, 5])
        (n, depth) = queue.pop(into: buffer, lengths: &lengths, sources: &sources, limit: 4)
        #expect(n == 0 && depth == 0)
    }
}
