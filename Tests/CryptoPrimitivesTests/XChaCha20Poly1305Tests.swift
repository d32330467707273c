import CryptoPrimitives
import Testing

/// draft-irtf-cfrg-xchacha-03 §2.2.1, "Test Vector for the HChaCha20 Block Function".
private enum HChaCha20Vector {
    static let key = key32("000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f")
    static let nonce = hexBytes("00:00:00:09:00:00:00:4a:00:00:00:00:31:41:59:27")
    /// "Resultant HChaCha20 subkey": 82413b42 27b27bfe d30e4250 8a877d73 a0f9e4d5 8a74a853 c12ec413 26d3ecdc.
    static let subkey = key32("82413b4227b27bfed30e42508a877d73 a0f9e4d58a74a853c12ec41326d3ecdc")
}

/// draft-irtf-cfrg-xchacha-03 Appendix A.3.1, "AEAD_XCHACHA20_POLY1305" (developer-friendly form of A.1).
private enum XChaChaVector {
    static let key = key32("808182838485868788898a8b8c8d8e8f 909192939495969798999a9b9c9d9e9f")
    static let nonce = hexBytes("404142434445464748494a4b4c4d4e4f5051525354555657")
    static let aad = hexBytes("50515253c0c1c2c3c4c5c6c7")
    static let plaintext = hexBytes(
        """
        4c616469657320616e642047656e746c656d656e206f662074686520636c6173
        73206f66202739393a204966204920636f756c64206f6666657220796f75206f
        6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73
        637265656e20776f756c642062652069742e
        """)
    static let ciphertext = hexBytes(
        """
        bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
        731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
        2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
        21f9664c97637da9768812f615c68b13b52e
        """)
    static let tag = hexBytes("c0875924c1c7987947deafd8780acf49")
}

@Suite("HChaCha20 and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03)")
struct XChaCha20Poly1305Tests {
    @Test("HChaCha20 derives the §2.2.1 subkey")
    func hchachaMatchesDraftVector() {
        let subkey = HChaCha20Vector.nonce.withUnsafeBytes {
            HChaCha20.deriveSubkey(key: HChaCha20Vector.key, nonce: $0)
        }
        #expect(subkey.hex == HChaCha20Vector.subkey.hex)
    }

    @Test("HChaCha20 reads only the first 16 bytes of a longer nonce")
    func hchachaIgnoresBytesPastSixteen() {
        let long = HChaCha20Vector.nonce + [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]
        let subkey = long.withUnsafeBytes { HChaCha20.deriveSubkey(key: HChaCha20Vector.key, nonce: $0) }
        #expect(subkey == HChaCha20Vector.subkey)
    }

    @Test("sealing the Appendix A.3.1 vector gives its exact ciphertext and tag")
    func sealMatchesAppendixA3_1() {
        let v = XChaChaVector.self
        let sealed = XChaCha20Poly1305.seal(key: v.key, nonce: v.nonce, plaintext: v.plaintext, aad: v.aad)
        #expect(hexString(sealed) == hexString(v.ciphertext + v.tag))
    }

    @Test("opening the Appendix A.3.1 ciphertext returns the plaintext")
    func openRoundTripsAppendixA3_1() throws {
        let v = XChaChaVector.self
        let opened = try #require(
            XChaCha20Poly1305.open(key: v.key, nonce: v.nonce, ciphertext: v.ciphertext + v.tag, aad: v.aad))
        #expect(opened == v.plaintext)
    }

    @Test("flipping any single bit of ciphertext, tag, additional data or nonce makes open fail")
    func tamperingIsRejected() {
        let v = XChaChaVector.self
        let sealed = v.ciphertext + v.tag
        for tampered in singleBitFlips(of: sealed) {
            #expect(XChaCha20Poly1305.open(key: v.key, nonce: v.nonce, ciphertext: tampered, aad: v.aad) == nil)
        }
        for tampered in singleBitFlips(of: v.aad) {
            #expect(XChaCha20Poly1305.open(key: v.key, nonce: v.nonce, ciphertext: sealed, aad: tampered) == nil)
        }
        // Both halves of the nonce matter: bytes 0-15 feed HChaCha20, bytes 16-23 the inner ChaCha20 nonce.
        for tampered in singleBitFlips(of: v.nonce) {
            #expect(XChaCha20Poly1305.open(key: v.key, nonce: tampered, ciphertext: sealed, aad: v.aad) == nil)
        }
    }

    @Test("open returns nil for a nonce that is not 24 bytes or input shorter than a tag")
    func openRejectsBadLengths() {
        let v = XChaChaVector.self
        let sealed = v.ciphertext + v.tag
        #expect(
            XChaCha20Poly1305.open(key: v.key, nonce: Array(v.nonce.prefix(23)), ciphertext: sealed, aad: v.aad) == nil)
        #expect(XChaCha20Poly1305.open(key: v.key, nonce: v.nonce + [0], ciphertext: sealed, aad: v.aad) == nil)
        #expect(XChaCha20Poly1305.open(key: v.key, nonce: v.nonce, ciphertext: v.tag.prefix(15), aad: v.aad) == nil)
    }

    @Test("an empty message seals to a bare 16-byte tag that opens to empty")
    func emptyMessageRoundTrips() throws {
        let v = XChaChaVector.self
        let sealed = XChaCha20Poly1305.seal(key: v.key, nonce: v.nonce, plaintext: [], aad: [])
        #expect(sealed.count == 16)
        let opened = try #require(XChaCha20Poly1305.open(key: v.key, nonce: v.nonce, ciphertext: sealed, aad: []))
        #expect(opened.isEmpty)
    }
}
