internal import CLibCrypto

/// SHA-256 (FIPS 180-4) through OpenSSL: the digest `sha256sum` prints, used to name a policy file's
/// content so that operators can compare what each gateway runs with what is in Git.
public enum SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            out.withUnsafeMutableBytes { output in
                EVP_Digest(
                    input.baseAddress, input.count, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length,
                    EVP_sha256(), nil) == 1
            }
        }
        precondition(ok && length == 32, "SHA-256 failed inside libcrypto")
        return out
    }

    /// The digest as lowercase hex, as `sha256sum` prints it.
    public static func hexDigest(_ bytes: [UInt8]) -> String {
        hex(hash(bytes))
    }

    /// A digest's bytes as lowercase hex.
    public static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: digest.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xF)]] }, as: UTF8.self)
    }
}
