import CryptoPrimitives
import Testing

@Suite("BLAKE2s (RFC 7693)")
struct BLAKE2sTests {
    @Test("BLAKE2s-256(\"abc\") is the RFC 7693 Appendix B value")
    func abcMatchesAppendixB() {
        // RFC 7693 Appendix B, BLAKE2s-256("abc"):
        //   50 8C 5E 8C 32 7C 14 E2 E1 A7 2B A3 4E EB 45 2F
        //   37 45 8B 20 9E D6 3A 29 4D 99 9B 4C 86 67 59 82
        #expect(
            BLAKE2s.hash(Array("abc".utf8)).hex == "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982")
    }

    @Test("the hash of nothing is BLAKE2s-256 of the empty string")
    func emptyInput() {
        // Python: hashlib.blake2s(b"").hexdigest()
        let empty = "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9"
        #expect(BLAKE2s.hash().hex == empty)
        #expect(BLAKE2s.hash([]).hex == empty)
        #expect(BLAKE2s.hash(parts: []).hex == empty)
    }

    @Test("hashing several parts equals hashing their concatenation")
    func partsEqualConcatenation() {
        let a = Array("The quick brown fox ".utf8)
        let b = Array("jumps over the lazy dog".utf8)
        // Python: hashlib.blake2s(b"The quick brown fox jumps over the lazy dog").hexdigest()
        let expected = "606beeec743ccbeff6cbcdf5d5302aa855c256c29b88c8ed331ea1a6bf3c8812"
        #expect(BLAKE2s.hash(a + b).hex == expected)
        #expect(BLAKE2s.hash(a, b).hex == expected)
        #expect(BLAKE2s.hash(a, [], b).hex == expected)
        #expect(BLAKE2s.hash(parts: [a, b]).hex == expected)
        // Split at every position, including across a 64-byte block boundary.
        let long = [UInt8](0..<150)
        let whole = BLAKE2s.hash(long)
        for split in [0, 1, 63, 64, 65, 128, 149, 150] {
            #expect(BLAKE2s.hash(Array(long[..<split]), Array(long[split...])) == whole)
        }
    }

    @Test("keyed BLAKE2s with key 00..1f over the empty message is the BLAKE2 KAT value")
    func keyedKnownAnswer32() {
        // BLAKE2 reference testvectors/blake2s-kat.txt, first keyed entry (in: empty, key: 00..1f).
        let mac = BLAKE2s.mac(key: [UInt8](0..<32), input: [], outputByteCount: 32)
        #expect(hexString(mac) == "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49")
    }

    @Test("a 16-byte keyed BLAKE2s matches Python's hashlib.blake2s(key:, digest_size=16)")
    func keyedSixteenByteOutput() {
        // Python: hashlib.blake2s(msg, key=bytes(range(32)), digest_size=16).hexdigest()
        #expect(hexString(BLAKE2s.mac(key: [UInt8](0..<32), input: [])) == "9536f9b267655743dee97b8a670f9f53")
        #expect(
            hexString(BLAKE2s.mac(key: [UInt8](0..<32), input: [UInt8](0..<64), outputByteCount: 16))
                == "f1efa90d2547036841ecd3627fafbc36")
        // A key shorter than 32 bytes: hashlib.blake2s(b"hello mac1", key=b"\x42"*7, digest_size=16)
        #expect(
            hexString(BLAKE2s.mac(key: [UInt8](repeating: 0x42, count: 7), input: Array("hello mac1".utf8)))
                == "0c32b4568f45f833e6ca42605a43a947")
    }

    @Test("the 16-byte keyed output is not a truncation of the 32-byte one")
    func outputLengthIsAParameter() {
        let long = BLAKE2s.mac(key: [UInt8](0..<32), input: [], outputByteCount: 32)
        let short = BLAKE2s.mac(key: [UInt8](0..<32), input: [], outputByteCount: 16)
        #expect(short.count == 16)
        #expect(Array(long.prefix(16)) != short)
    }
}

@Suite("HMAC-BLAKE2s and the WireGuard KDF")
struct HMACAndKDFTests {
    /// Python: hashlib.blake2s(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s").digest() — WireGuard's initial
    /// chaining key Ci (whitepaper §5.4.2).
    static let construction = key32("60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36")

    @Test("HMAC-BLAKE2s matches Python hmac.new(key, msg, lambda: hashlib.blake2s())")
    func hmacMatchesPython() {
        #expect(
            HMACBLAKE2s.authenticate(key: key32(hexString(0..<32)), input: []).hex
                == "e2641d24dfa8dd89e8cb77f1cdc77d8c006e5bebdfc4d6a3a3a6f8d5b7586fb0")
        #expect(
            HMACBLAKE2s.authenticate(
                key: key32(String(repeating: "ff", count: 32)), input: Array("WireGuard HMAC-BLAKE2s known answer".utf8)
            ).hex == "b0862712abe9cc050af3379cb2849af523991d20ee5867fe6a9c917052d66317")
        // A message longer than BLAKE2s's 64-byte block, with an all-zero key.
        #expect(
            HMACBLAKE2s.authenticate(key: .zero, input: [UInt8](0..<200)).hex
                == "37bfd84146a999397d51a647e2fa1ddf4195ae34da253a7be156b06db7c233b6")
    }

    @Test("HMAC-BLAKE2s is not the keyed BLAKE2s MAC")
    func hmacIsNotKeyedBLAKE2s() {
        let key = [UInt8](0..<32)
        #expect(
            HMACBLAKE2s.authenticate(key: key32(hexString(key)), input: []).bytes
                != BLAKE2s.mac(key: key, input: [], outputByteCount: 32))
    }

    @Test("the construction hash and the identifier hash are WireGuard's Ci and Hi")
    func constructionConstants() {
        let c = BLAKE2s.hash(Array("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s".utf8))
        #expect(c.hex == Self.construction.hex)
        // Python: hashlib.blake2s(C + b"WireGuard v1 zx2c4 Jason@zx2c4.com").digest()
        let h = BLAKE2s.hash(c.bytes, Array("WireGuard v1 zx2c4 Jason@zx2c4.com".utf8))
        #expect(h.hex == "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3")
    }

    /// τ1, τ2, τ3 from a Python re-implementation of the whitepaper KDF with key = Ci:
    /// τ0 = HMAC(key, input), τ1 = HMAC(τ0, 0x1), τ2 = HMAC(τ0, τ1 ‖ 0x2), τ3 = HMAC(τ0, τ2 ‖ 0x3).
    static let kdfVectors: [(input: [UInt8], t1: String, t2: String, t3: String)] = [
        (
            [],
            "bd968725a9177942a8c2e4253d1dde31cf7b19ec001b4a3a3d141cd9d998d3ba",
            "aab5462b323780fa615bf80ffe469510239ff361575a663968e686a7ae41d693",
            "ae1e06e0931da10b9971bab8e282b42307522b38c0f4492cdd1bf44298126887"
        ),
        (
            [UInt8](0..<32),
            "6ff66e10ab4a55ac8144a867fcd9f8ee64d4bd6239223338cb3437cf085ab031",
            "203b22d63d63e35cebb9e40210cf8c1d7f90879428a4c766cda9ef34bb299398",
            "35a7b2fc3e4f59db341dbe588e3b75897980c463d5bbb855f8ed8134ff40133a"
        ),
        (
            [UInt8](0..<100),
            "863c7532e5c0425d362160c968a758438e03952da5dd5013bf130dc864e8ae9e",
            "30c209b22a357241be0506fd040e563c218587202e2e3a78a5a578ddbc3e0832",
            "5d6edc674e001ccf96134b90114b7bd32810d76d7ae796d9bd992afa293ab140"
        ),
    ]

    @Test("KDF1, KDF2 and KDF3 match the whitepaper construction computed in Python", arguments: [0, 32, 100])
    func kdfMatchesPython(inputLength: Int) throws {
        let v = try #require(Self.kdfVectors.first { $0.input.count == inputLength })
        let key = Self.construction
        #expect(HKDF.derive1(key: key, input: v.input).hex == v.t1)
        let (a1, a2) = HKDF.derive2(key: key, input: v.input)
        #expect(a1.hex == v.t1)
        #expect(a2.hex == v.t2)
        let (b1, b2, b3) = HKDF.derive3(key: key, input: v.input)
        #expect(b1.hex == v.t1)
        #expect(b2.hex == v.t2)
        #expect(b3.hex == v.t3)
    }

    @Test("the KDF outputs are the HMAC chain spelled out with HMACBLAKE2s")
    func kdfIsTheHMACChain() {
        let input = Array("chain".utf8)
        let t0 = HMACBLAKE2s.authenticate(key: Self.construction, input: input)
        let t1 = HMACBLAKE2s.authenticate(key: t0, input: [1])
        let t2 = HMACBLAKE2s.authenticate(key: t0, input: t1.bytes + [2])
        let t3 = HMACBLAKE2s.authenticate(key: t0, input: t2.bytes + [3])
        let (d1, d2, d3) = HKDF.derive3(key: Self.construction, input: input)
        #expect(d1 == t1)
        #expect(d2 == t2)
        #expect(d3 == t3)
    }
}
