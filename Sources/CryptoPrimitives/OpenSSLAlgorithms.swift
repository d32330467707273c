internal import CLibCrypto

/// OpenSSL algorithm objects fetched once per process.
///
/// `EVP_*_fetch` walks the provider tables and is expensive, so each algorithm is fetched on first use
/// and shared. The fetched objects are immutable and safe to use from any thread.
final class OpenSSLAlgorithms: @unchecked Sendable {
    static let shared = OpenSSLAlgorithms()

    let chacha20Poly1305: OpaquePointer
    let blake2s256: OpaquePointer
    let blake2sMAC: OpaquePointer
    let hmac: OpaquePointer

    private init() {
        // A missing algorithm means a broken libcrypto install, not bad input: stop with the name.
        guard let aead = EVP_CIPHER_fetch(nil, "ChaCha20-Poly1305", nil) else {
            preconditionFailure("libcrypto lacks ChaCha20-Poly1305")
        }
        guard let digest = EVP_MD_fetch(nil, "BLAKE2S-256", nil) else {
            preconditionFailure("libcrypto lacks BLAKE2S-256")
        }
        guard let mac = EVP_MAC_fetch(nil, "BLAKE2SMAC", nil) else {
            preconditionFailure("libcrypto lacks BLAKE2SMAC")
        }
        guard let hmac = EVP_MAC_fetch(nil, "HMAC", nil) else {
            preconditionFailure("libcrypto lacks HMAC")
        }
        self.chacha20Poly1305 = aead
        self.blake2s256 = digest
        self.blake2sMAC = mac
        self.hmac = hmac
    }
}
