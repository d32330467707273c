internal import CLibCrypto

/// Curve25519 Diffie-Hellman (RFC 7748) through OpenSSL's `EVP_PKEY` X25519.
public enum X25519 {
    /// A fresh private key, clamped as `wg genkey` clamps it (RFC 7748 §5 decodeScalar25519).
    public static func generatePrivateKey(using random: some RandomSource) -> Key32 {
        var key = random.nextKey()
        clamp(&key)
        return key
    }

    /// Clears bits 0-2 and 255 and sets bit 254, so the stored key is the scalar actually used.
    public static func clamp(_ key: inout Key32) {
        key.withUnsafeMutableBytes { raw in
            raw[0] &= 248
            raw[31] = (raw[31] & 127) | 64
        }
    }

    /// DH-PUBKEY(private).
    public static func publicKey(for privateKey: Key32) -> Key32 {
        guard let pkey = makePrivate(privateKey) else { preconditionFailure("X25519 private key import failed") }
        defer { EVP_PKEY_free(pkey) }
        var length = 32
        var ok = false
        let out = Key32(filling: { raw in
            ok =
                EVP_PKEY_get_raw_public_key(pkey, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1
                && length == 32
        })
        precondition(ok, "X25519 public key derivation failed inside libcrypto")
        return out
    }

    /// DH(private, public); nil when the peer's key is a low-order point and the result is all zero
    /// (RFC 7748 §6.1 check), which WireGuard must reject.
    public static func sharedSecret(privateKey: Key32, publicKey: Key32) -> Key32? {
        guard let mine = makePrivate(privateKey) else { return nil }
        defer { EVP_PKEY_free(mine) }
        let theirs = publicKey.withUnsafeBytes {
            EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nil, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
        }
        guard let theirs else { return nil }
        defer { EVP_PKEY_free(theirs) }
        guard let ctx = EVP_PKEY_CTX_new(mine, nil) else { return nil }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_derive_init(ctx) == 1, EVP_PKEY_derive_set_peer(ctx, theirs) == 1 else { return nil }
        var length = 32
        var ok = false
        var secret = Key32(filling: { raw in
            ok =
                EVP_PKEY_derive(ctx, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1 && length == 32
        })
        // OpenSSL already fails on an all-zero result; check again so the contract does not depend on it.
        guard ok, !secret.isZero else {
            secret.wipe()
            return nil
        }
        return secret
    }

    private static func makePrivate(_ key: Key32) -> OpaquePointer? {
        key.withUnsafeBytes {
            EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nil, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
        }
    }
}
