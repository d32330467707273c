import CryptoPrimitives
import Testing

/// RFC 7748 §6.1, the Curve25519 Diffie-Hellman test vector.
private enum RFC7748Section6_1 {
    static let alicePrivate = key32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    static let alicePublic = key32("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    static let bobPrivate = key32("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    static let bobPublic = key32("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    static let shared = key32("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
}

/// RFC 7748 §5.2, the two single X25519 test vectors (input scalar, input u-coordinate, output u-coordinate).
/// The second u-coordinate has its top bit set, which §5 says must be masked before use.
private let rfc7748Section5_2: [(scalar: String, u: String, output: String)] = [
    (
        "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
        "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"
    ),
    (
        "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
        "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
        "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"
    ),
]

/// Points of small order (the all-zero result of §6.1 follows): u = 0, u = 1, the two order-8 points,
/// p - 1, and the non-canonical encodings p and p + 1 of 0 and 1. Python `cryptography` refuses all of them.
private let lowOrderPoints = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]

@Suite("X25519 (RFC 7748)")
struct X25519Tests {
    fileprivate typealias V = RFC7748Section6_1

    @Test("the §6.1 private keys give the §6.1 public keys")
    func publicKeysMatchSection6_1() {
        #expect(X25519.publicKey(for: V.alicePrivate).hex == V.alicePublic.hex)
        #expect(X25519.publicKey(for: V.bobPrivate).hex == V.bobPublic.hex)
    }

    @Test("both sides of §6.1 derive the same published shared secret")
    func sharedSecretMatchesSection6_1() throws {
        let aliceSide = try #require(X25519.sharedSecret(privateKey: V.alicePrivate, publicKey: V.bobPublic))
        let bobSide = try #require(X25519.sharedSecret(privateKey: V.bobPrivate, publicKey: V.alicePublic))
        #expect(aliceSide.hex == V.shared.hex)
        #expect(bobSide.hex == V.shared.hex)
    }

    @Test("scalar multiplication by an arbitrary u-coordinate matches the §5.2 vectors", arguments: [0, 1])
    func scalarMultiplicationMatchesSection5_2(index: Int) throws {
        let v = rfc7748Section5_2[index]
        let out = try #require(X25519.sharedSecret(privateKey: key32(v.scalar), publicKey: key32(v.u)))
        #expect(out.hex == v.output)
    }

    @Test("the §5.2 iterated test gives the published values after 1 and 1,000 iterations")
    func iteratedScalarMultiplication() throws {
        var k = key32("0900000000000000000000000000000000000000000000000000000000000000")
        var u = k
        for iteration in 1...1000 {
            let next = try #require(X25519.sharedSecret(privateKey: k, publicKey: u))
            u = k
            k = next
            if iteration == 1 {
                #expect(k.hex == "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
            }
        }
        #expect(k.hex == "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")
    }

    @Test("publicKey(for:) is scalar multiplication of the base point u = 9")
    func publicKeyIsBasePointMultiplication() throws {
        let nine = key32("0900000000000000000000000000000000000000000000000000000000000000")
        let viaSharedSecret = try #require(X25519.sharedSecret(privateKey: V.alicePrivate, publicKey: nine))
        #expect(viaSharedSecret == X25519.publicKey(for: V.alicePrivate))
    }

    @Test("a low-order peer public key yields nil instead of an all-zero secret", arguments: lowOrderPoints)
    func lowOrderPointsAreRejected(point: String) {
        #expect(X25519.sharedSecret(privateKey: V.alicePrivate, publicKey: key32(point)) == nil)
        #expect(X25519.sharedSecret(privateKey: V.bobPrivate, publicKey: key32(point)) == nil)
    }

    @Test("clamp clears bits 0-2 and 255 and sets bit 254, leaving the rest alone")
    func clampSetsTheDocumentedBits() {
        var alice = V.alicePrivate
        X25519.clamp(&alice)
        // 0x77 & 0xf8 = 0x70; (0x2a & 0x7f) | 0x40 = 0x6a.
        #expect(alice.hex == "70076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c6a")

        var ones = key32(String(repeating: "ff", count: 32))
        X25519.clamp(&ones)
        #expect(ones.hex == "f8" + String(repeating: "ff", count: 30) + "7f")

        var zero = Key32.zero
        X25519.clamp(&zero)
        #expect(zero.hex == String(repeating: "00", count: 31) + "40")
    }

    @Test("clamping is idempotent and does not change the public key or the shared secret")
    func clampDoesNotChangeResults() throws {
        var alice = V.alicePrivate
        X25519.clamp(&alice)
        var twice = alice
        X25519.clamp(&twice)
        #expect(twice == alice)
        #expect(X25519.publicKey(for: alice) == V.alicePublic)
        let shared = try #require(X25519.sharedSecret(privateKey: alice, publicKey: V.bobPublic))
        #expect(shared == V.shared)
    }

    @Test("generatePrivateKey returns the clamped form of the random bytes")
    func generatedKeysAreClamped() {
        #expect(
            X25519.generatePrivateKey(using: ConstantRandom(byte: 0xff)).hex
                == "f8" + String(repeating: "ff", count: 30) + "7f")
        #expect(
            X25519.generatePrivateKey(using: ConstantRandom(byte: 0x00)).hex
                == String(repeating: "00", count: 31) + "40")
    }

    @Test("two fresh system-random key pairs agree on a shared secret in both directions")
    func freshKeyPairsAgree() throws {
        let random = SystemRandom()
        let a = X25519.generatePrivateKey(using: random)
        let b = X25519.generatePrivateKey(using: random)
        #expect(a != b)
        let ab = try #require(X25519.sharedSecret(privateKey: a, publicKey: X25519.publicKey(for: b)))
        let ba = try #require(X25519.sharedSecret(privateKey: b, publicKey: X25519.publicKey(for: a)))
        #expect(ab == ba)
        #expect(!ab.isZero)
    }
}
