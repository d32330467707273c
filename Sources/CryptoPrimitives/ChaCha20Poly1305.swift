internal import CLibCrypto

/// ChaCha20-Poly1305 AEAD (RFC 8439) through OpenSSL, with reusable contexts for the packet path.
///
/// WireGuard's nonce is 32 zero bits followed by the 64-bit little-endian counter (whitepaper §5.4.6),
/// which ``seal(key:counter:buffer:tag:aad:)`` builds itself. Not safe for concurrent use: give each
/// thread its own instance. Sealing and opening work in place.
public final class ChaCha20Poly1305: @unchecked Sendable {
    /// Length of the Poly1305 authentication tag.
    public static let tagByteCount = 16
    /// Length of the RFC 8439 nonce.
    public static let nonceByteCount = 12

    private let sealContext: OpaquePointer
    private let openContext: OpaquePointer

    public init() {
        guard let s = EVP_CIPHER_CTX_new(), let o = EVP_CIPHER_CTX_new() else {
            preconditionFailure("EVP_CIPHER_CTX_new: out of memory")
        }
        let cipher = OpenSSLAlgorithms.shared.chacha20Poly1305
        // Bind the cipher once; every packet afterwards only sets key and nonce.
        guard EVP_EncryptInit_ex(s, cipher, nil, nil, nil) == 1, EVP_DecryptInit_ex(o, cipher, nil, nil, nil) == 1
        else { preconditionFailure("EVP_CipherInit_ex failed for ChaCha20-Poly1305") }
        self.sealContext = s
        self.openContext = o
    }

    deinit {
        EVP_CIPHER_CTX_free(sealContext)
        EVP_CIPHER_CTX_free(openContext)
    }

    /// Encrypts `buffer` in place and writes the 16-byte tag to `tag`, using WireGuard's counter nonce.
    public func seal(
        key: Key32, counter: UInt64, buffer: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawBufferPointer,
        aad: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) {
        var nonce = Self.wireGuardNonce(counter)
        withUnsafeBytes(of: &nonce) { seal(key: key, nonce: $0, buffer: buffer, tag: tag, aad: aad) }
    }

    /// Decrypts `buffer` in place if `tag` authenticates it; returns false (buffer contents then undefined) if not.
    public func open(
        key: Key32, counter: UInt64, buffer: UnsafeMutableRawBufferPointer, tag: UnsafeRawBufferPointer,
        aad: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)
    ) -> Bool {
        var nonce = Self.wireGuardNonce(counter)
        return withUnsafeBytes(of: &nonce) { open(key: key, nonce: $0, buffer: buffer, tag: tag, aad: aad) }
    }

    /// Encrypts in place with an explicit 12-byte nonce.
    public func seal(
        key: Key32, nonce: UnsafeRawBufferPointer, buffer: UnsafeMutableRawBufferPointer,
        tag: UnsafeMutableRawBufferPointer, aad: UnsafeRawBufferPointer
    ) {
        precondition(nonce.count == Self.nonceByteCount && tag.count >= Self.tagByteCount)
        let ctx = sealContext
        var outLength: Int32 = 0
        let ok = key.withUnsafeBytes { k -> Bool in
            guard
                EVP_EncryptInit_ex(
                    ctx, nil, nil, k.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    nonce.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 1
            else { return false }
            if aad.count > 0,
                EVP_EncryptUpdate(
                    ctx, nil, &outLength, aad.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(aad.count)) != 1
            {
                return false
            }
            if buffer.count > 0 {
                let p = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                guard EVP_EncryptUpdate(ctx, p, &outLength, p, Int32(buffer.count)) == 1 else { return false }
            }
            var finalLength: Int32 = 0
            var scratch: UInt8 = 0
            guard EVP_EncryptFinal_ex(ctx, &scratch, &finalLength) == 1 else { return false }
            return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagByteCount), tag.baseAddress) == 1
        }
        // Sealing cannot fail on valid arguments; a failure here is a libcrypto fault, not input.
        precondition(ok, "ChaCha20-Poly1305 seal failed inside libcrypto")
    }

    /// Decrypts in place with an explicit 12-byte nonce; false if the tag does not authenticate.
    public func open(
        key: Key32, nonce: UnsafeRawBufferPointer, buffer: UnsafeMutableRawBufferPointer,
        tag: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer
    ) -> Bool {
        guard nonce.count == Self.nonceByteCount, tag.count == Self.tagByteCount else { return false }
        let ctx = openContext
        var outLength: Int32 = 0
        return key.withUnsafeBytes { k -> Bool in
            guard
                EVP_DecryptInit_ex(
                    ctx, nil, nil, k.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    nonce.baseAddress!.assumingMemoryBound(to: UInt8.self)) == 1
            else { return false }
            if aad.count > 0,
                EVP_DecryptUpdate(
                    ctx, nil, &outLength, aad.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(aad.count)) != 1
            {
                return false
            }
            if buffer.count > 0 {
                let p = buffer.baseAddress!.assumingMemoryBound(to: UInt8.self)
                guard EVP_DecryptUpdate(ctx, p, &outLength, p, Int32(buffer.count)) == 1 else { return false }
            }
            guard
                EVP_CIPHER_CTX_ctrl(
                    ctx, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagByteCount),
                    UnsafeMutableRawPointer(mutating: tag.baseAddress))
                    == 1
            else { return false }
            var finalLength: Int32 = 0
            var scratch: UInt8 = 0
            return EVP_DecryptFinal_ex(ctx, &scratch, &finalLength) == 1
        }
    }

    /// 4 zero bytes, then the counter little-endian: whitepaper §5.4.6.
    @inline(__always)
    static func wireGuardNonce(_ counter: UInt64) -> (UInt32, UInt32, UInt32) {
        // Three 32-bit words keep the tuple exactly 12 bytes with no padding.
        (0, UInt32(truncatingIfNeeded: counter).littleEndian, UInt32(truncatingIfNeeded: counter >> 32).littleEndian)
    }
}

// MARK: - Convenience for the handshake path (allocates)

extension ChaCha20Poly1305 {
    /// Seals `plaintext` and returns ciphertext followed by the tag.
    public func seal(key: Key32, counter: UInt64, plaintext: [UInt8], aad: [UInt8]) -> [UInt8] {
        var out = plaintext + [UInt8](repeating: 0, count: Self.tagByteCount)
        let n = plaintext.count
        out.withUnsafeMutableBytes { raw in
            aad.withUnsafeBytes { a in
                seal(
                    key: key, counter: counter, buffer: UnsafeMutableRawBufferPointer(rebasing: raw[0..<n]),
                    tag: UnsafeMutableRawBufferPointer(rebasing: raw[n...]), aad: a)
            }
        }
        return out
    }

    /// Opens ciphertext-plus-tag; nil if it does not authenticate or is shorter than a tag.
    public func open(key: Key32, counter: UInt64, ciphertext: some Collection<UInt8>, aad: [UInt8]) -> [UInt8]? {
        guard ciphertext.count >= Self.tagByteCount else { return nil }
        var buffer = Array(ciphertext)
        let n = buffer.count - Self.tagByteCount
        let ok = buffer.withUnsafeMutableBytes { raw in
            aad.withUnsafeBytes { a in
                open(
                    key: key, counter: counter, buffer: UnsafeMutableRawBufferPointer(rebasing: raw[0..<n]),
                    tag: UnsafeRawBufferPointer(rebasing: raw[n...]), aad: a)
            }
        }
        guard ok else { return nil }
        buffer.removeLast(Self.tagByteCount)
        return buffer
    }
}
