internal import CLibCrypto

/// BLAKE2s (RFC 7693) through OpenSSL: the plain 32-byte hash and the keyed MAC WireGuard uses.
public enum BLAKE2s {
    /// HASH(parts…): BLAKE2s-256 over the concatenation of `parts`.
    public static func hash(_ parts: [UInt8]...) -> Key32 {
        hash(parts: parts)
    }

    /// BLAKE2s-256 over the concatenation of `parts`.
    public static func hash(parts: [[UInt8]]) -> Key32 {
        guard let ctx = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new: out of memory") }
        defer { EVP_MD_CTX_free(ctx) }
        var ok = EVP_DigestInit_ex(ctx, OpenSSLAlgorithms.shared.blake2s256, nil) == 1
        for part in parts where ok {
            ok = part.withUnsafeBytes { EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) == 1 }
        }
        var length: UInt32 = 0
        let out = Key32(filling: { raw in
            if ok { ok = EVP_DigestFinal_ex(ctx, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &length) == 1 }
        })
        precondition(ok && length == 32, "BLAKE2s-256 failed inside libcrypto")
        return out
    }

    /// Keyed BLAKE2s, MAC(key, input) with an output of `outputByteCount` (16 for WireGuard's mac1/mac2,
    /// 32 for full-length use). `key` may be 1 to 32 bytes.
    public static func mac(key: [UInt8], input: [UInt8], outputByteCount: Int = 16) -> [UInt8] {
        precondition((1...32).contains(key.count) && (1...32).contains(outputByteCount))
        guard let ctx = EVP_MAC_CTX_new(OpenSSLAlgorithms.shared.blake2sMAC) else {
            preconditionFailure("EVP_MAC_CTX_new: out of memory")
        }
        defer { EVP_MAC_CTX_free(ctx) }
        var size = outputByteCount
        var out = [UInt8](repeating: 0, count: outputByteCount)
        let ok = withUnsafeMutablePointer(to: &size) { sizePointer -> Bool in
            // The key name must outlive the params array: a StaticString's storage is static.
            var params = [
                OSSL_PARAM_construct_size_t(Self.sizeParameterName, sizePointer),
                OSSL_PARAM_construct_end(),
            ]
            return key.withUnsafeBytes { k in
                guard EVP_MAC_init(ctx, k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count, &params) == 1
                else { return false }
                guard
                    input.withUnsafeBytes({
                        EVP_MAC_update(ctx, $0.baseAddress?.assumingMemoryBound(to: UInt8.self), $0.count)
                    }) == 1
                else { return false }
                var written = 0
                return out.withUnsafeMutableBytes {
                    EVP_MAC_final(ctx, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), &written, $0.count) == 1
                        && written == outputByteCount
                }
            }
        }
        precondition(ok, "keyed BLAKE2s failed inside libcrypto")
        return out
    }

    private static var sizeParameterName: UnsafePointer<CChar> {
        UnsafeRawPointer(StaticString("size").utf8Start).assumingMemoryBound(to: CChar.self)
    }
}
