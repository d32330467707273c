import CryptoPrimitives
import GatewayConfig
import Testing

@Suite("Key files and key expiry")
struct KeyFileTests {
    static let key = ConfigFixtures.key(9)

    @Test("a 0600 file holding a wg genkey key is accepted, trailing newline and all")
    func accepted() throws {
        let parsed = try GatewayConfiguration.validatePrivateKeyFile(contents: Self.key + "\n", mode: 0o100600).get()
        #expect(parsed.base64 == Self.key)
        #expect(try GatewayConfiguration.validatePrivateKeyFile(contents: Self.key, mode: 0o400).get() == parsed)
    }

    @Test(
        "a file readable by group or others is refused, naming node.private_key_file",
        arguments: [0o640, 0o644, 0o604, 0o660, 0o100644, 0o610] as [UInt32]
    )
    func insecureMode(mode: UInt32) {
        let result = GatewayConfiguration.validatePrivateKeyFile(
            contents: Self.key, mode: mode, path: "/etc/meshgate/private.key")
        #expect(
            result
                == .failure(
                    .insecureKeyFile(key: "node.private_key_file", path: "/etc/meshgate/private.key", mode: mode)))
        if case .failure(let error) = result {
            #expect(
                error.description.hasPrefix(
                    "node.private_key_file: /etc/meshgate/private.key is readable by group or others"))
            #expect(error.description.contains("chmod 600"))
            #expect(!error.description.contains(Self.key))
        }
    }

    @Test("the mode appears in octal")
    func octalMode() {
        let error = ConfigError.insecureKeyFile(key: "node.private_key_file", path: nil, mode: 0o100644)
        #expect(
            error.description
                == "node.private_key_file: the key file is readable by group or others (mode 0644); restrict it with chmod 600"
        )
    }

    @Test(
        "malformed or all-zero contents are refused without echoing them",
        arguments: ["", "not a key", "c2VjcmV0", String(repeating: "A", count: 43) + "="])
    func malformed(contents: String) {
        let result = GatewayConfiguration.validatePrivateKeyFile(
            contents: contents, mode: 0o600, path: "/k", key: "peers[0].preshared_key_file")
        guard case .failure(let error) = result else {
            Issue.record("accepted \(contents)")
            return
        }
        #expect(error.key == "peers[0].preshared_key_file")
        #expect(contents.isEmpty || !error.description.contains(contents))
    }

    @Test(
        "RFC 3339 dates parse to the right instant",
        arguments: [
            ("1970-01-01T00:00:00Z", 0), ("2026-06-01T00:00:00Z", 1_780_272_000),
            ("2026-06-01T02:00:00+02:00", 1_780_272_000), ("2026-05-31t19:30:00.123-04:30", 1_780_272_000),
            ("2026-06-01", 1_780_272_000), ("2024-02-29T12:00:00Z", 1_709_208_000),
            ("2016-12-31T23:59:60Z", 1_483_228_799),
        ] as [(String, Int64)]
    )
    func expiry(text: String, seconds: Int64) throws {
        let parsed = try #require(KeyExpiry(text))
        #expect(parsed.secondsSince1970 == seconds)
        #expect(parsed.description == text)
        #expect(parsed.isExpired(atSecondsSince1970: seconds))
        #expect(!parsed.isExpired(atSecondsSince1970: seconds - 1))
    }

    @Test(
        "malformed dates are refused",
        arguments: [
            "", "2026-6-1", "2026-02-29", "2026-13-01", "2026-06-01T24:00:00Z", "2026-06-01T00:00:00",
            "2026-06-01T00:00Z", "2026-06-01T00:00:00+2:00", "2026-06-01T00:00:00Z ", "2026-06-01T00:00:00.Z",
        ]
    )
    func malformedExpiry(text: String) {
        #expect(KeyExpiry(text) == nil)
    }
}
