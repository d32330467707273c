import CryptoPrimitives
import Testing

/// RFC 8439 §2.8.2, "Example and Test Vector for AEAD_CHACHA20_POLY1305".
private enum RFC8439Section2_8_2 {
    static let key = key32("808182838485868788898a8b8c8d8e8f 909192939495969798999a9b9c9d9e9f")
    /// 32-bit fixed-common part 07000000 followed by the 64-bit IV 4041424344454647.
    static let nonce = hexBytes("07000000 4041424344454647")
    static let aad = hexBytes("50515253c0c1c2c3c4c5c6c7")
    /// "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen
    /// would be it."
    static let plaintext = hexBytes(
        """
        4c616469657320616e642047656e746c656d656e206f662074686520636c6173
        73206f66202739393a204966204920636f756c64206f6666657220796f75206f
        6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73
        637265656e20776f756c642062652069742e
        """)
    static let ciphertext = hexBytes(
        """
        d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6
        3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36
        92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc
        3ff4def08e4b7a9de576d26586cec64b6116
        """)
    static let tag = hexBytes("1ae10b594f09e26a7e902ecbd0600691")
}

/// RFC 8439 Appendix A.5, "ChaCha20-Poly1305 AEAD Decryption".
private enum RFC8439AppendixA5 {
    static let key = key32("1c9240a5eb55d38af333888604f6b5f0 473917c1402b80099dca5cbc207075c0")
    /// Four zero bytes then 0102030405060708: exactly WireGuard's nonce layout for this little-endian counter.
    static let nonce = hexBytes("00000000 0102030405060708")
    static let counter: UInt64 = 0x0807_0605_0403_0201
    static let aad = hexBytes("f33388860000000000004e91")
    static let ciphertext = hexBytes(
        """
        64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2
        4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf
        332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855
        9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4
        b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e
        af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a
        0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10
        49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29
        a6ad5cb4022b02709b
        """)
    static let tag = hexBytes("eead9d67890cbb22392336fea1851f38")
    /// "Internet-Drafts are draft documents valid for a maximum of six months and may be updated, replaced,
    /// or obsoleted by other documents at any time. It is inappropriate to use Internet-Drafts as reference
    /// material or to cite them other than as /“work in progress.”/"
    static let plaintext = hexBytes(
        """
        496e7465726e65742d4472616674732061726520647261667420646f63756d65
        6e74732076616c696420666f722061206d6178696d756d206f6620736978206d
        6f6e74687320616e64206d617920626520757064617465642c207265706c6163
        65642c206f72206f62736f6c65746564206279206f7468657220646f63756d65
        6e747320617420616e792074696d652e20497420697320696e617070726f7072
        6961746520746f2075736520496e7465726e65742d4472616674732061732072
        65666572656e6365206d6174657269616c206f7220746f206369746520746865
        6d206f74686572207468616e206173202fe2809c776f726b20696e2070726f67
        726573732e2fe2809d
        """)
}

/// Seals with an explicit 12-byte nonce; returns ciphertext followed by the tag.
private func sealExplicit(
    _ aead: ChaCha20Poly1305, key: Key32, nonce: [UInt8], plaintext: [UInt8], aad: [UInt8]
) -> [UInt8] {
    var buffer = plaintext
    var tag = [UInt8](repeating: 0, count: ChaCha20Poly1305.tagByteCount)
    buffer.withUnsafeMutableBytes { b in
        tag.withUnsafeMutableBytes { t in
            nonce.withUnsafeBytes { n in
                aad.withUnsafeBytes { a in aead.seal(key: key, nonce: n, buffer: b, tag: t, aad: a) }
            }
        }
    }
    return buffer + tag
}

/// Opens with an explicit 12-byte nonce; nil when the tag does not authenticate.
private func openExplicit(
    _ aead: ChaCha20Poly1305, key: Key32, nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8], aad: [UInt8]
) -> [UInt8]? {
    var buffer = ciphertext
    let ok = buffer.withUnsafeMutableBytes { b in
        tag.withUnsafeBytes { t in
            nonce.withUnsafeBytes { n in
                aad.withUnsafeBytes { a in aead.open(key: key, nonce: n, buffer: b, tag: t, aad: a) }
            }
        }
    }
    return ok ? buffer : nil
}

@Suite("ChaCha20-Poly1305 (RFC 8439)")
struct ChaCha20Poly1305Tests {
    fileprivate typealias V = RFC8439Section2_8_2

    @Test("sealing the RFC 8439 §2.8.2 vector gives its exact ciphertext and tag")
    func sealMatchesSection2_8_2() {
        let sealed = sealExplicit(
            ChaCha20Poly1305(), key: V.key, nonce: V.nonce, plaintext: V.plaintext, aad: V.aad)
        #expect(hexString(sealed) == hexString(V.ciphertext + V.tag))
    }

    @Test("opening the RFC 8439 §2.8.2 ciphertext returns the plaintext")
    func openRoundTripsSection2_8_2() throws {
        let opened = try #require(
            openExplicit(
                ChaCha20Poly1305(), key: V.key, nonce: V.nonce, ciphertext: V.ciphertext, tag: V.tag, aad: V.aad))
        #expect(opened == V.plaintext)
    }

    @Test("flipping any single bit of the ciphertext makes open fail")
    func ciphertextBitFlipsAreRejected() {
        let aead = ChaCha20Poly1305()
        for tampered in singleBitFlips(of: V.ciphertext) {
            #expect(
                openExplicit(aead, key: V.key, nonce: V.nonce, ciphertext: tampered, tag: V.tag, aad: V.aad) == nil)
        }
    }

    @Test("flipping any single bit of the tag makes open fail")
    func tagBitFlipsAreRejected() {
        let aead = ChaCha20Poly1305()
        for tampered in singleBitFlips(of: V.tag) {
            #expect(
                openExplicit(aead, key: V.key, nonce: V.nonce, ciphertext: V.ciphertext, tag: tampered, aad: V.aad)
                    == nil)
        }
    }

    @Test("flipping any single bit of the additional data makes open fail")
    func aadBitFlipsAreRejected() {
        let aead = ChaCha20Poly1305()
        for tampered in singleBitFlips(of: V.aad) {
            #expect(
                openExplicit(aead, key: V.key, nonce: V.nonce, ciphertext: V.ciphertext, tag: V.tag, aad: tampered)
                    == nil)
        }
    }

    @Test("open fails with a different nonce, a different key or the additional data left out")
    func wrongNonceKeyOrMissingAADAreRejected() {
        let aead = ChaCha20Poly1305()
        var otherNonce = V.nonce
        otherNonce[11] ^= 0x80
        #expect(
            openExplicit(aead, key: V.key, nonce: otherNonce, ciphertext: V.ciphertext, tag: V.tag, aad: V.aad) == nil)
        var otherKey = V.key
        otherKey.withUnsafeMutableBytes { $0[0] ^= 1 }
        #expect(
            openExplicit(aead, key: otherKey, nonce: V.nonce, ciphertext: V.ciphertext, tag: V.tag, aad: V.aad) == nil)
        #expect(openExplicit(aead, key: V.key, nonce: V.nonce, ciphertext: V.ciphertext, tag: V.tag, aad: []) == nil)
    }

    @Test("one instance keeps working after a failed open: its reused contexts are fully reset")
    func contextsRecoverAfterFailure() throws {
        let aead = ChaCha20Poly1305()
        var badTag = V.tag
        badTag[0] ^= 1
        #expect(
            openExplicit(aead, key: V.key, nonce: V.nonce, ciphertext: V.ciphertext, tag: badTag, aad: V.aad) == nil)
        let opened = try #require(
            openExplicit(aead, key: V.key, nonce: V.nonce, ciphertext: V.ciphertext, tag: V.tag, aad: V.aad))
        #expect(opened == V.plaintext)
        // Interleave with another message and key, then the first vector again.
        let a5 = RFC8439AppendixA5.self
        #expect(
            openExplicit(aead, key: a5.key, nonce: a5.nonce, ciphertext: a5.ciphertext, tag: a5.tag, aad: a5.aad)
                == a5.plaintext)
        #expect(
            sealExplicit(aead, key: V.key, nonce: V.nonce, plaintext: V.plaintext, aad: V.aad) == V.ciphertext + V.tag)
        #expect(
            sealExplicit(aead, key: V.key, nonce: V.nonce, plaintext: V.plaintext, aad: V.aad) == V.ciphertext + V.tag)
    }

    @Test("open with an explicit nonce rejects a nonce or tag of the wrong length")
    func explicitOpenRejectsWrongLengths() {
        let aead = ChaCha20Poly1305()
        #expect(
            openExplicit(
                aead, key: V.key, nonce: Array(V.nonce.dropLast()), ciphertext: V.ciphertext, tag: V.tag, aad: V.aad)
                == nil)
        #expect(
            openExplicit(
                aead, key: V.key, nonce: V.nonce, ciphertext: V.ciphertext, tag: Array(V.tag.dropLast()), aad: V.aad)
                == nil)
    }

    @Test("decrypting the RFC 8439 Appendix A.5 message gives its plaintext")
    func appendixA5Decrypts() throws {
        let a5 = RFC8439AppendixA5.self
        let opened = try #require(
            openExplicit(
                ChaCha20Poly1305(), key: a5.key, nonce: a5.nonce, ciphertext: a5.ciphertext, tag: a5.tag, aad: a5.aad))
        #expect(opened == a5.plaintext)
        #expect(opened.count == 265)
    }

    @Test("the Appendix A.5 nonce is WireGuard's counter nonce, so the counter API opens and reseals it")
    func appendixA5ThroughCounterAPI() throws {
        let a5 = RFC8439AppendixA5.self
        let aead = ChaCha20Poly1305()
        let opened = try #require(
            aead.open(key: a5.key, counter: a5.counter, ciphertext: a5.ciphertext + a5.tag, aad: a5.aad))
        #expect(opened == a5.plaintext)
        #expect(
            aead.seal(key: a5.key, counter: a5.counter, plaintext: a5.plaintext, aad: a5.aad) == a5.ciphertext + a5.tag)
        #expect(aead.open(key: a5.key, counter: a5.counter + 1, ciphertext: a5.ciphertext + a5.tag, aad: a5.aad) == nil)
    }
}

/// Known answers from Python `cryptography` 48's ChaCha20Poly1305 with nonce = 4 zero bytes ‖ LE64(counter)
/// (WireGuard whitepaper §5.4.6), key 20..3f, plaintext "meshgate: WireGuard counter nonce", AAD 0102..08.
private enum CounterNonceVectors {
    static let key = key32("202122232425262728292a2b2c2d2e2f 303132333435363738393a3b3c3d3e3f")
    static let plaintext = Array("meshgate: WireGuard counter nonce".utf8)
    static let aad = hexBytes("0102030405060708")
    static let cases: [(counter: UInt64, nonce: String, sealed: String)] = [
        (
            0, "000000000000000000000000",
            "ed062cb474e9a378a008ae8897ec0968a71bdfee4e20cfb7b1d5b1092fdadd75ab ffead2115e5f7d6dbc41ef9cfddb89d1"
        ),
        (
            1, "000000000100000000000000",
            "7f26c505641541ecf95a15fa98f3df1179ad0dc5058979c790f8f53335de20e9ab 6ba5769360a586e58edd575fd30a0105"
        ),
        (
            (1 << 32) + 5, "000000000500000001000000",
            "89a2ec1c3566669a3c2020d831d4385d0ca240b23ae790b32af40120e483f8f0a9 8b52620b4c6ffec61133a0387811bad2"
        ),
        (
            UInt64.max, "00000000ffffffffffffffff",
            "9a73f9f7cb8ca1058748b9d57dd01245f21e027a0e1e3a9c2c278f73e5de87208a f0c397dbcbf322f52fac90b25d31be10"
        ),
    ]
}

@Suite("ChaCha20-Poly1305 with WireGuard's counter nonce")
struct ChaCha20Poly1305CounterNonceTests {
    fileprivate typealias V = CounterNonceVectors

    @Test(
        "sealing with a counter equals Python's ChaCha20Poly1305 with nonce 0x00000000 ‖ LE64(counter)",
        arguments: CounterNonceVectors.cases.map(\.counter))
    func counterSealMatchesPython(counter: UInt64) throws {
        let c = try #require(V.cases.first { $0.counter == counter })
        let sealed = ChaCha20Poly1305().seal(key: V.key, counter: c.counter, plaintext: V.plaintext, aad: V.aad)
        #expect(hexString(sealed) == hexString(hexBytes(c.sealed)))
    }

    @Test(
        "the in-place counter seal equals the explicit-nonce seal with 4 zero bytes + little-endian counter",
        arguments: CounterNonceVectors.cases.map(\.counter))
    func counterSealEqualsExplicitNonce(counter: UInt64) throws {
        let c = try #require(V.cases.first { $0.counter == counter })
        let aead = ChaCha20Poly1305()
        var buffer = V.plaintext
        var tag = [UInt8](repeating: 0, count: 16)
        buffer.withUnsafeMutableBytes { b in
            tag.withUnsafeMutableBytes { t in
                V.aad.withUnsafeBytes { a in aead.seal(key: V.key, counter: c.counter, buffer: b, tag: t, aad: a) }
            }
        }
        var littleEndianCounter = [UInt8]()
        for shift in stride(from: 0, to: 64, by: 8) {
            littleEndianCounter.append(UInt8(truncatingIfNeeded: c.counter >> UInt64(shift)))
        }
        let nonce = [0, 0, 0, 0] + littleEndianCounter
        #expect(hexString(nonce) == c.nonce)
        let explicit = sealExplicit(aead, key: V.key, nonce: nonce, plaintext: V.plaintext, aad: V.aad)
        #expect(buffer + tag == explicit)
    }

    @Test(
        "the in-place counter open round-trips and rejects a neighbouring counter",
        arguments: CounterNonceVectors.cases.map(\.counter))
    func counterOpenRoundTrips(counter: UInt64) throws {
        let c = try #require(V.cases.first { $0.counter == counter })
        let aead = ChaCha20Poly1305()
        let sealed = hexBytes(c.sealed)
        var buffer = Array(sealed.dropLast(16))
        let tag = Array(sealed.suffix(16))
        let ok = buffer.withUnsafeMutableBytes { b in
            tag.withUnsafeBytes { t in
                V.aad.withUnsafeBytes { a in aead.open(key: V.key, counter: c.counter, buffer: b, tag: t, aad: a) }
            }
        }
        #expect(ok)
        #expect(buffer == V.plaintext)
        #expect(aead.open(key: V.key, counter: c.counter &+ 1, ciphertext: sealed, aad: V.aad) == nil)
    }

    @Test("an empty plaintext with empty additional data seals to the bare tag and opens to empty")
    func emptyMessage() throws {
        let aead = ChaCha20Poly1305()
        // Python: ChaCha20Poly1305(key).encrypt(b"\0"*4 + (7).to_bytes(8, "little"), b"", b"")
        let sealed = aead.seal(key: V.key, counter: 7, plaintext: [], aad: [])
        #expect(hexString(sealed) == "d92d9298166919fd491616ee326e54bd")
        let opened = try #require(aead.open(key: V.key, counter: 7, ciphertext: sealed, aad: []))
        #expect(opened.isEmpty)
    }

    @Test("open refuses input shorter than a tag, and accepts an ArraySlice")
    func openLengthsAndSlices() throws {
        let aead = ChaCha20Poly1305()
        #expect(aead.open(key: V.key, counter: 0, ciphertext: [UInt8](repeating: 0, count: 15), aad: []) == nil)
        let framed = [0xaa, 0xbb] + hexBytes(V.cases[0].sealed)
        let opened = try #require(aead.open(key: V.key, counter: 0, ciphertext: framed[2...], aad: V.aad))
        #expect(opened == V.plaintext)
    }
}
