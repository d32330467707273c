public import CryptoPrimitives

extension GatewayConfiguration {
    /// Checks the contents and permission bits of a key file the caller has read (`wg genkey` or
    /// `wg genpsk` format: 44 base64 characters, surrounding whitespace ignored).
    ///
    /// Refuses a file readable, writable or executable by group or others (`mode & 0o077 != 0`), a
    /// malformed key and an all-zero key. The error names `key` (the configuration key that names the
    /// file, `node.private_key_file` by default, or for example `peers[0].preshared_key_file`) and never
    /// echoes the file's contents.
    ///
    /// - Parameters:
    ///   - contents: the file's text.
    ///   - mode: `st_mode` (only the permission bits are examined).
    ///   - path: the file's path, for the message.
    ///   - key: the configuration key that names the file.
    public static func validatePrivateKeyFile(
        contents: String, mode: UInt32, path: String? = nil, key: String = "node.private_key_file"
    ) -> Result<Key32, ConfigError> {
        guard mode & 0o077 == 0 else {
            return .failure(.insecureKeyFile(key: key, path: path, mode: mode))
        }
        let trimmed = contents.trimmingASCIIWhitespace()
        guard let parsed = Key32(base64: trimmed), !parsed.isZero else {
            return .failure(
                .invalidValue(
                    key: key, value: path ?? "<key file>",
                    reason: "the file does not hold a 44-character base64 key (generate one with wg genkey)"))
        }
        return .success(parsed)
    }
}

extension String {
    fileprivate func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        let start = firstIndex { !isSpace($0) } ?? endIndex
        let end = lastIndex { !isSpace($0) }.map { index(after: $0) } ?? start
        return start < end ? String(self[start..<end]) : ""
    }
}
