import CryptoPrimitives
import MeshgateTestSupport
import Testing

@testable import WireGuard

@Suite("Keypair limits")
struct KeypairTests {
    static let created = Instant(nanoseconds: 5_000_000_000)

    static func keypair(isInitiator: Bool = true) -> Keypair {
        let random = SeededRandom(seed: 4)
        return Keypair(
            keys: NoiseHandshake.SessionKeys(sendKey: random.nextKey(), receiveKey: random.nextKey()),
            localIndex: 1, remoteIndex: 2, createdAt: created, isInitiator: isInitiator)
    }

    @Test("a keypair sends and receives until rejectAfterTime, not at it")
    func rejectAfterTime() {
        let keypair = Self.keypair()
        let justBefore = Self.created + (Specification.rejectAfterTime - .nanoseconds(1))
        let atLimit = Self.created + Specification.rejectAfterTime
        #expect(keypair.canSend(at: Self.created) && keypair.canReceive(at: Self.created))
        #expect(keypair.canSend(at: justBefore) && keypair.canReceive(at: justBefore))
        #expect(!keypair.canSend(at: atLimit) && !keypair.canReceive(at: atLimit))
    }

    @Test("a keypair stops sending when its counter reaches rejectAfterMessages")
    func rejectAfterMessages() {
        let keypair = Self.keypair()
        keypair.sendCounter = Specification.rejectAfterMessages - 1
        #expect(keypair.canSend(at: Self.created))
        keypair.sendCounter = Specification.rejectAfterMessages
        #expect(!keypair.canSend(at: Self.created))
        #expect(keypair.canReceive(at: Self.created), "the receive side has its own limit in the replay window")
    }
}
