import CryptoPrimitives
import Testing

/// RFC 4648 §10, "Test Vectors" for base64.
private let rfc4648Section10: [(plain: String, encoded: String)] = [
    ("", ""),
    ("f", "Zg=="),
    ("fo", "Zm8="),
    ("foo", "Zm9v"),
    ("foob", "Zm9vYg=="),
    ("fooba", "Zm9vYmE="),
    ("foobar", "Zm9vYmFy"),
]

/// RFC 7748 §6.1 Alice's public key, and its base64 as `wg pubkey` prints it (Python base64.b64encode).
private let alicePublicHex = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
private let alicePublicBase64 = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="

@Suite("Base64 (RFC 4648)")
struct Base64Tests {
    @Test("encoding gives the RFC 4648 §10 vectors", arguments: rfc4648Section10.map(\.plain))
    func encodeMatchesSection10(plain: String) throws {
        let v = try #require(rfc4648Section10.first { $0.plain == plain })
        #expect(Base64.encode(Array(v.plain.utf8)) == v.encoded)
    }

    @Test("decoding the RFC 4648 §10 vectors gives the input back", arguments: rfc4648Section10.map(\.encoded))
    func decodeMatchesSection10(encoded: String) throws {
        let v = try #require(rfc4648Section10.first { $0.encoded == encoded })
        #expect(Base64.decode(v.encoded) == Array(v.plain.utf8))
    }

    @Test("every byte length from 0 to 40 and every byte value round-trips")
    func roundTrips() {
        for length in 0...40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        let all = [UInt8](0...255)
        #expect(Base64.decode(Base64.encode(all)) == all)
        // All 64 alphabet characters appear in these encodings.
        #expect(Base64.encode([0xfb, 0xff, 0xbf]) == "+/+/")
    }

    @Test(
        "malformed padding, length or characters are rejected",
        arguments: [
            "Zg", "Zg=", "Zg===", "Z===", "====", "=Zg=", "Z=g=", "Zg=a", "Zg==Zg==", "Zm9v=", "Zm9", "Zm9v\n",
            " Zm9v", "Zm9-", "Zm9_", "Zm9*", "Zm9vYg=\u{00e9}",
        ])
    func malformedInputIsRejected(text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test("a wg-style 44-character key decodes to 32 bytes and encodes back identically")
    func wireGuardKeyRoundTrip() throws {
        let decoded = try #require(Base64.decode(alicePublicBase64))
        #expect(hexString(decoded) == alicePublicHex)
        #expect(Base64.encode(decoded) == alicePublicBase64)
        #expect(alicePublicBase64.utf8.count == 44)
    }
}

@Suite("Key32")
struct Key32Tests {
    @Test("hex round-trips, is printed lower-case and parsed in either case")
    func hexRoundTrip() throws {
        let key = key32(alicePublicHex)
        #expect(key.hex == alicePublicHex)
        #expect(key.bytes == hexBytes(alicePublicHex))
        let upper = try #require(Key32(hex: alicePublicHex.uppercased()))
        #expect(upper == key)
        #expect(Key32(hex: key.hex) == key)
    }

    @Test(
        "hex parsing rejects wrong lengths and non-hex digits",
        arguments: [
            String(alicePublicHex.dropLast()), alicePublicHex + "0", String(alicePublicHex.dropLast(2)), "",
            "g" + String(alicePublicHex.dropFirst()), " " + String(alicePublicHex.dropFirst()),
            "0x" + String(alicePublicHex.dropFirst(2)),
        ])
    func hexRejectsMalformed(text: String) {
        #expect(Key32(hex: text) == nil)
    }

    @Test("base64 round-trips through the 44-character wg form")
    func base64RoundTrip() throws {
        let key = try #require(Key32(base64: alicePublicBase64))
        #expect(key.hex == alicePublicHex)
        #expect(key.base64 == alicePublicBase64)
        let random = SystemRandom().nextKey()
        #expect(Key32(base64: random.base64) == random)
        #expect(random.base64.utf8.count == 44)
    }

    @Test(
        "base64 parsing rejects 43- and 45-character, 31- and 33-byte and non-base64 input",
        arguments: [
            String(alicePublicBase64.dropLast()),  // 43 characters
            alicePublicBase64 + "=",  // 45 characters
            alicePublicBase64 + "A",  // 45 characters
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==",  // 44 characters but 31 bytes
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g",  // 44 characters but 33 bytes
            String(alicePublicBase64.dropLast(2)) + "*=",  // a character outside the alphabet
            String(alicePublicBase64.dropLast(2)) + "-=",  // base64url is not accepted
            alicePublicHex,  // hex is not base64 of a key
            "",
        ])
    func base64RejectsMalformed(text: String) {
        #expect(Key32(base64: text) == nil)
    }

    @Test("init(bytes:) takes exactly 32 bytes and init(copying:) the first 32")
    func byteInitialisers() {
        #expect(Key32(bytes: [UInt8](repeating: 1, count: 31)) == nil)
        #expect(Key32(bytes: [UInt8](repeating: 1, count: 33)) == nil)
        #expect(Key32(bytes: [UInt8](0..<32))?.hex == hexString([UInt8](0..<32)))
        let forty = [UInt8](0..<40)
        let copied = forty.withUnsafeBytes { Key32(copying: $0) }
        #expect(copied.bytes == Array(forty.prefix(32)))
    }

    @Test("equality and hashing follow the bytes, and isZero/wipe agree with the zero key")
    func equalityZeroAndWipe() {
        let a = key32(alicePublicHex)
        var b = a
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        // A difference in any single byte, including the last, breaks equality.
        for index in 0..<32 {
            var c = a
            c.withUnsafeMutableBytes { $0[index] ^= 0x01 }
            #expect(c != a)
        }
        #expect(Set([a, b, Key32.zero]).count == 2)
        #expect(!a.isZero)
        #expect(Key32.zero.isZero)
        #expect(Key32.zero.bytes == [UInt8](repeating: 0, count: 32))
        var lastByteOnly = Key32.zero
        lastByteOnly.withUnsafeMutableBytes { $0[31] = 1 }
        #expect(!lastByteOnly.isZero)
        b.wipe()
        #expect(b.isZero)
        #expect(b == .zero)
    }

    @Test("description and debug description never show the key bytes")
    func descriptionIsRedacted() {
        let key = key32(alicePublicHex)
        let texts = [key.description, String(describing: key), "\(key)", String(reflecting: key), "\([key])"]
        for text in texts {
            #expect(text.contains("redacted"))
            #expect(!text.contains(alicePublicBase64))
            #expect(!text.contains(alicePublicHex))
            #expect(!text.contains(String(alicePublicBase64.prefix(8))))
            #expect(!text.contains(String(alicePublicHex.prefix(8))))
        }
        #expect(key.description == Key32.zero.description)
    }

    @Test("shortIdentifier is peer(first four…last four base64 characters before the padding)")
    func shortIdentifier() {
        // wireguard-go: "peer(" + b64[0:4] + "…" + b64[39:43] + ")"
        #expect(key32(alicePublicHex).shortIdentifier == "peer(hSDw…bTmo)")
    }
}

@Suite("SecureMemory")
struct SecureMemoryTests {
    @Test("cleanse zeroes every byte of an array and of a raw buffer")
    func cleanseZeroes() {
        var bytes = [UInt8](1...64)
        SecureMemory.cleanse(&bytes)
        #expect(bytes == [UInt8](repeating: 0, count: 64))

        var other = [UInt8](repeating: 0xa5, count: 48)
        other.withUnsafeMutableBytes { raw in
            SecureMemory.cleanse(UnsafeMutableRawBufferPointer(rebasing: raw[8..<40]))
        }
        // Only the slice is wiped.
        #expect(other[..<8].allSatisfy { $0 == 0xa5 })
        #expect(other[8..<40].allSatisfy { $0 == 0 })
        #expect(other[40...].allSatisfy { $0 == 0xa5 })
    }

    @Test("cleansing an empty array or empty buffer is a no-op")
    func cleanseEmpty() {
        var empty: [UInt8] = []
        SecureMemory.cleanse(&empty)
        #expect(empty.isEmpty)
        SecureMemory.cleanse(UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }

    @Test("constant-time equality is true only for equal length and content")
    func constantTimeEquals() {
        let a = [UInt8](0..<32)
        #expect(SecureMemory.constantTimeEquals(a, a))
        #expect(SecureMemory.constantTimeEquals([], []))
        for index in a.indices {
            var b = a
            b[index] ^= 0x80
            #expect(!SecureMemory.constantTimeEquals(a, b))
        }
        #expect(!SecureMemory.constantTimeEquals(a, Array(a.dropLast())))
        #expect(!SecureMemory.constantTimeEquals(a, a + [0]))
        #expect(!SecureMemory.constantTimeEquals([], [0]))
        a.withUnsafeBytes { ra in
            let copy = a
            copy.withUnsafeBytes { rb in
                #expect(SecureMemory.constantTimeEquals(ra, rb))
                #expect(!SecureMemory.constantTimeEquals(ra, UnsafeRawBufferPointer(rebasing: rb[1...])))
            }
        }
        #expect(
            SecureMemory.constantTimeEquals(
                UnsafeRawBufferPointer(start: nil, count: 0), UnsafeRawBufferPointer(start: nil, count: 0)))
    }
}

@Suite("RandomSource")
struct RandomSourceTests {
    @Test("the system source fills buffers and does not repeat 32-byte keys")
    func systemRandomProducesDistinctKeys() {
        let random = SystemRandom()
        let keys = (0..<16).map { _ in random.nextKey() }
        #expect(Set(keys).count == 16)
        #expect(keys.allSatisfy { !$0.isZero })
        #expect(random.nextUInt64() != random.nextUInt64())
    }

    @Test("the derived helpers read their bytes from fill")
    func helpersUseFill() {
        let source = ConstantRandom(byte: 0xab)
        #expect(source.nextUInt32() == 0xabab_abab)
        #expect(source.nextUInt64() == 0xabab_abab_abab_abab)
        #expect(source.nextKey().hex == String(repeating: "ab", count: 32))
    }
}
