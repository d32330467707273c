/// HChaCha20 (draft-irtf-cfrg-xchacha §2.2): derives a ChaCha20 subkey from a key and a 16-byte nonce.
///
/// OpenSSL does not offer it, so it is written here: the ChaCha20 block function's 20 rounds without
/// the final feed-forward, keeping words 0-3 and 12-15.
public enum HChaCha20 {
    /// Derives the 32-byte subkey. `nonce` must hold at least 16 bytes; only the first 16 are used.
    public static func deriveSubkey(key: Key32, nonce: UnsafeRawBufferPointer) -> Key32 {
        precondition(nonce.count >= 16, "HChaCha20 needs a 16-byte nonce")
        var s = [UInt32](repeating: 0, count: 16)
        // "expand 32-byte k"
        s[0] = 0x6170_7865
        s[1] = 0x3320_646e
        s[2] = 0x7962_2d32
        s[3] = 0x6b20_6574
        key.withUnsafeBytes { k in
            for i in 0..<8 { s[4 + i] = k.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian }
        }
        for i in 0..<4 { s[12 + i] = nonce.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian }
        for _ in 0..<10 {
            quarterRound(&s, 0, 4, 8, 12)
            quarterRound(&s, 1, 5, 9, 13)
            quarterRound(&s, 2, 6, 10, 14)
            quarterRound(&s, 3, 7, 11, 15)
            quarterRound(&s, 0, 5, 10, 15)
            quarterRound(&s, 1, 6, 11, 12)
            quarterRound(&s, 2, 7, 8, 13)
            quarterRound(&s, 3, 4, 9, 14)
        }
        let words = [s[0], s[1], s[2], s[3], s[12], s[13], s[14], s[15]]
        let out = Key32(filling: { raw in
            for (i, w) in words.enumerated() {
                raw.storeBytes(of: w.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
            }
        })
        SecureMemory.cleanse(&s)
        return out
    }

    @inline(__always)
    private static func quarterRound(_ s: inout [UInt32], _ a: Int, _ b: Int, _ c: Int, _ d: Int) {
        s[a] &+= s[b]
        s[d] ^= s[a]
        s[d] = s[d].rotatedLeft(16)
        s[c] &+= s[d]
        s[b] ^= s[c]
        s[b] = s[b].rotatedLeft(12)
        s[a] &+= s[b]
        s[d] ^= s[a]
        s[d] = s[d].rotatedLeft(8)
        s[c] &+= s[d]
        s[b] ^= s[c]
        s[b] = s[b].rotatedLeft(7)
    }
}

extension SecureMemory {
    static func cleanse(_ words: inout [UInt32]) {
        words.withUnsafeMutableBytes { cleanse($0) }
    }
}

extension UInt32 {
    @inline(__always)
    fileprivate func rotatedLeft(_ n: UInt32) -> UInt32 { (self << n) | (self >> (32 - n)) }
}

/// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha §2.3), used by WireGuard's cookie reply (whitepaper §5.4.7).
///
/// The subkey comes from HChaCha20 over the first 16 nonce bytes; the remaining 8 become the ChaCha20
/// nonce after 4 zero bytes.
public enum XChaCha20Poly1305 {
    /// Length of the extended nonce.
    public static let nonceByteCount = 24

    /// Seals `plaintext` and returns ciphertext followed by the 16-byte tag.
    public static func seal(key: Key32, nonce: [UInt8], plaintext: [UInt8], aad: [UInt8]) -> [UInt8] {
        precondition(nonce.count == nonceByteCount, "XChaCha20 needs a 24-byte nonce")
        var (subkey, innerNonce) = derive(key: key, nonce: nonce)
        defer { subkey.wipe() }
        var out = plaintext + [UInt8](repeating: 0, count: ChaCha20Poly1305.tagByteCount)
        let n = plaintext.count
        out.withUnsafeMutableBytes { raw in
            innerNonce.withUnsafeBytes { nn in
                aad.withUnsafeBytes { a in
                    ChaCha20Poly1305().seal(
                        key: subkey, nonce: nn, buffer: UnsafeMutableRawBufferPointer(rebasing: raw[0..<n]),
                        tag: UnsafeMutableRawBufferPointer(rebasing: raw[n...]), aad: a)
                }
            }
        }
        return out
    }

    /// Opens ciphertext-plus-tag; nil if it does not authenticate.
    public static func open(key: Key32, nonce: [UInt8], ciphertext: some Collection<UInt8>, aad: [UInt8]) -> [UInt8]? {
        guard nonce.count == nonceByteCount, ciphertext.count >= ChaCha20Poly1305.tagByteCount else { return nil }
        var (subkey, innerNonce) = derive(key: key, nonce: nonce)
        defer { subkey.wipe() }
        var buffer = Array(ciphertext)
        let n = buffer.count - ChaCha20Poly1305.tagByteCount
        let ok = buffer.withUnsafeMutableBytes { raw in
            innerNonce.withUnsafeBytes { nn in
                aad.withUnsafeBytes { a in
                    ChaCha20Poly1305().open(
                        key: subkey, nonce: nn, buffer: UnsafeMutableRawBufferPointer(rebasing: raw[0..<n]),
                        tag: UnsafeRawBufferPointer(rebasing: raw[n...]), aad: a)
                }
            }
        }
        guard ok else { return nil }
        buffer.removeLast(ChaCha20Poly1305.tagByteCount)
        return buffer
    }

    private static func derive(key: Key32, nonce: [UInt8]) -> (Key32, [UInt8]) {
        let subkey = nonce.withUnsafeBytes { HChaCha20.deriveSubkey(key: key, nonce: $0) }
        return (subkey, [0, 0, 0, 0] + nonce[16..<24])
    }
}
