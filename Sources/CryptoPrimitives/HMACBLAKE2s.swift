internal import CLibCrypto

/// HMAC (RFC 2104) instantiated with BLAKE2s-256, the HMAC of the WireGuard whitepaper §5.4.
public enum HMACBLAKE2s {
    /// HMAC(key, input), 32 bytes.
    public static func authenticate(key: Key32, input: [UInt8]) -> Key32 {
        guard let ctx = EVP_MAC_CTX_new(OpenSSLAlgorithms.shared.hmac) else {
            preconditionFailure("EVP_MAC_CTX_new: out of memory")
        }
        defer { EVP_MAC_CTX_free(ctx) }
        var params = [
            OSSL_PARAM_construct_utf8_string(Self.name("digest"), Self.mutableName("BLAKE2S-256"), 0),
            OSSL_PARAM_construct_end(),
        ]
        var ok = key.withUnsafeBytes { k in
            EVP_MAC_init(ctx, k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count, &params) == 1
        }
        if ok {
            ok = input.withUnsafeBytes {
                EVP_MAC_update(ctx, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count) == 1
            }
        }
        var written = 0
        let out = Key32(filling: { raw in
            if ok { ok = EVP_MAC_final(ctx, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &written, 32) == 1 }
        })
        precondition(ok && written == 32, "HMAC-BLAKE2s failed inside libcrypto")
        return out
    }

    private static func name(_ s: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    // OSSL_PARAM_construct_utf8_string takes `char *` but only reads it.
    private static func mutableName(_ s: StaticString) -> UnsafeMutablePointer<CChar> {
        UnsafeMutablePointer(mutating: name(s))
    }
}

/// The key derivation function of the WireGuard whitepaper §5.4 (HKDF with HMAC-BLAKE2s, empty salt
/// replaced by the chaining key): τ0 = HMAC(key, input), τ1 = HMAC(τ0, 0x1), τi = HMAC(τ0, τi-1 ‖ i).
public enum HKDF {
    /// KDF1(key, input) → τ1.
    public static func derive1(key: Key32, input: [UInt8]) -> Key32 {
        var t0 = HMACBLAKE2s.authenticate(key: key, input: input)
        defer { t0.wipe() }
        return HMACBLAKE2s.authenticate(key: t0, input: [1])
    }

    /// KDF2(key, input) → (τ1, τ2).
    public static func derive2(key: Key32, input: [UInt8]) -> (Key32, Key32) {
        var t0 = HMACBLAKE2s.authenticate(key: key, input: input)
        defer { t0.wipe() }
        let t1 = HMACBLAKE2s.authenticate(key: t0, input: [1])
        var next = t1.bytes + [2]
        defer { SecureMemory.cleanse(&next) }
        let t2 = HMACBLAKE2s.authenticate(key: t0, input: next)
        return (t1, t2)
    }

    /// KDF3(key, input) → (τ1, τ2, τ3).
    public static func derive3(key: Key32, input: [UInt8]) -> (Key32, Key32, Key32) {
        var t0 = HMACBLAKE2s.authenticate(key: key, input: input)
        defer { t0.wipe() }
        let t1 = HMACBLAKE2s.authenticate(key: t0, input: [1])
        var second = t1.bytes + [2]
        defer { SecureMemory.cleanse(&second) }
        let t2 = HMACBLAKE2s.authenticate(key: t0, input: second)
        var third = t2.bytes + [3]
        defer { SecureMemory.cleanse(&third) }
        let t3 = HMACBLAKE2s.authenticate(key: t0, input: third)
        return (t1, t2, t3)
    }
}
