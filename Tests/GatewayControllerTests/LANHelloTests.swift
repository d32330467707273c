import CryptoPrimitives
import GatewayController
import NetworkTypes
import Testing

@Suite("LAN hello frames")
struct LANHelloTests {
    let a = Key32(bytes: (0..<32).map { UInt8($0) &+ 1 })!
    let b = Key32(bytes: (0..<32).map { UInt8($0) &+ 77 })!
    let addressA = IPAddress("100.64.0.1")!
    let addressB = IPAddress("100.64.0.2")!

    @Test("both members derive the same pair key; a frame opens only for its receiver, under that key, unaltered")
    func sealAndOpen() throws {
        let keyAB = try #require(LANHello.pairKey(privateKey: a, peerPublicKey: X25519.publicKey(for: b)))
        let keyBA = try #require(LANHello.pairKey(privateKey: b, peerPublicKey: X25519.publicKey(for: a)))
        #expect(keyAB == keyBA)
        let hello: [UInt8] = Array("a hello as on the overlay".utf8)
        let frame = LANHello.seal(hello, from: addressA, to: addressB, key: keyAB)
        let opened = LANHello.open(frame, receiver: addressB) { $0 == addressA ? keyBA : nil }
        #expect(opened?.sender == addressA && opened?.hello == hello)

        #expect(LANHello.open(frame, receiver: addressA) { _ in keyBA } == nil, "not addressed to A")
        #expect(LANHello.open(frame, receiver: addressB) { _ in nil } == nil, "sender is no member")
        #expect(
            LANHello.open(frame, receiver: addressB) { _ in Key32(bytes: [UInt8](repeating: 9, count: 32))! } == nil)
        for bit in 0..<(frame.count * 8) {
            var flipped = frame
            flipped[bit / 8] ^= UInt8(1 << (bit % 8))
            #expect(LANHello.open(flipped, receiver: addressB) { _ in keyBA } == nil, "bit \(bit)")
        }
        #expect(LANHello.open(Array(frame.prefix(40)), receiver: addressB) { _ in keyBA } == nil)
        #expect(LANHello.open(frame + [0], receiver: addressB) { _ in keyBA } == nil)
    }
}
