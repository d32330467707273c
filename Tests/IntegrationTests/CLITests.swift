// The operator CLI as operators use it (issue 7, defect 5): options before the command, the socket from
// the environment, versions, usage errors, JSON for errors too, and check-config reporting everything in
// one run. Runs the built `meshgate` and `meshgated`; needs no root and no daemon.

import Foundation
import MeshgateTestSupport
import Testing

@Suite("meshgate CLI")
struct CLITests {
    static let key = "YB4LVqZmH2rF8Cuo+u2NIVrtMXx2kkJpJDjz0GK6M3c="

    func meshgate(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandResult {
        try await Command.run(
            [try GatewayLab.binaries().meshgate] + arguments, environment: environment, check: false)
    }

    /// A scratch directory with a private key (mode 0600) and a config naming it; removed by the caller.
    func scratch(config: (String) -> String) throws -> (directory: String, config: String) {
        let directory = NSTemporaryDirectory() + "mgcli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let keyPath = "\(directory)/private.key"
        try (Self.key + "\n").write(toFile: keyPath, atomically: false, encoding: .utf8)
        chmod(keyPath, 0o600)
        let configPath = "\(directory)/config.yaml"
        try config(keyPath).write(toFile: configPath, atomically: false, encoding: .utf8)
        return (directory, configPath)
    }

    static func config(keyFile: String, extraPeer: String = "") -> String {
        """
        node:
          name: gw-nyc1-a
          private_key_file: \(keyFile)
        overlay:
          interface: mg0
          address: 100.64.0.1
        advertise: [10.10.10.0/24]
        peers:
          - name: gw-fsn1-a
            public_key: xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
            endpoint: 198.51.100.7:51820
            overlay_address: 100.64.0.3
        \(extraPeer)
        """
    }

    @Test("--version on both programs prints the software version")
    func versions() async throws {
        let cli = try await meshgate(["--version"])
        #expect(cli.succeeded && cli.standardOutput.trimmed == "0.1.0", "\(cli)")
        let daemon = try await Command.run([try GatewayLab.binaries().meshgated, "--version"], check: false)
        #expect(daemon.succeeded && daemon.standardOutput.trimmed == "0.1.0", "\(daemon)")
    }

    @Test("meshgate drill with no drill is a usage error (exit 64)")
    func drillWithoutSubcommand() async throws {
        let result = try await meshgate(["drill"])
        #expect(result.status == .exited(64), "\(result)")
        #expect(result.standardError.contains("failover, withdraw, relay or key-rotation"), "\(result)")
    }

    @Test(
        "--socket and --json before the command, or MESHGATE_SOCKET, pick the socket; errors are JSON with a schema version and plain slashes"
    )
    func globalOptionsAndJSONErrors() async throws {
        let socket = "/tmp/mgcli-absent-\(UUID().uuidString).sock"
        for (arguments, environment) in [
            (["--socket", socket, "--json", "status"], [String: String]()),
            (["--json", "--socket=\(socket)", "routes"], [:]),
            (["peers", "--json"], ["MESHGATE_SOCKET": socket]),
        ] {
            let result = try await meshgate(arguments, environment: environment)
            #expect(result.status == .exited(1), "\(arguments): \(result)")
            let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any]
            #expect(object?["ok"] as? Bool == false, "\(result)")
            #expect(object?["schema_version"] as? Int == 2, "\(result)")
            #expect((object?["error"] as? String)?.contains(socket) == true, "\(result)")
            #expect(!result.standardOutput.contains("\\/"), "escaped slashes: \(result.standardOutput)")
        }
    }

    @Test("check-config reports the key file's mode together with the other problems, in one run")
    func checkConfigEverythingAtOnce() async throws {
        let (directory, config) = try scratch { key in Self.config(keyFile: key) + "\nbogus_key: 1\n" }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        chmod("\(directory)/private.key", 0o644)
        let result = try await meshgate(["check-config", config])
        #expect(result.status == .exited(1))
        #expect(result.standardError.contains("bogus_key: unknown key"), "\(result)")
        #expect(result.standardError.contains("readable by group or others"), "\(result)")
    }

    @Test("check-config accepts a symlink to a 0600 key, as meshgated does, and refuses a huge key file")
    func checkConfigSymlinkAndSize() async throws {
        let (directory, config) = try scratch { key in Self.config(keyFile: key + ".link") }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createSymbolicLink(
            atPath: "\(directory)/private.key.link", withDestinationPath: "\(directory)/private.key")
        let linked = try await meshgate(["check-config", config])
        #expect(linked.succeeded, "\(linked)")
        let big = FileHandle(forWritingAtPath: "\(directory)/private.key")
        try big?.truncate(atOffset: 50 << 20)
        try big?.close()
        let huge = try await meshgate(["check-config", config])
        #expect(huge.status == .exited(1) && huge.standardError.contains("holds at most 4096"), "\(huge)")
    }

    @Test("check-config calls a key_expires in the past an error naming the peer")
    func checkConfigExpiredKey() async throws {
        let (directory, config) = try scratch { key in
            Self.config(keyFile: key).replacingOccurrences(
                of: "    overlay_address: 100.64.0.3",
                with: "    overlay_address: 100.64.0.3\n    key_expires: 2020-01-01T00:00:00Z")
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await meshgate(["check-config", config])
        #expect(result.status == .exited(1), "\(result)")
        #expect(result.standardError.contains("peers[0].key_expires: 2020-01-01T00:00:00Z is in the past"), "\(result)")
    }

    @Test("an endpoint given as a host name is refused with a message that says host names are not resolved")
    func hostNameEndpoint() async throws {
        let (directory, config) = try scratch { key in
            Self.config(keyFile: key).replacingOccurrences(
                of: "endpoint: 198.51.100.7:51820", with: "endpoint: gw-fsn1.example.net:51820")
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await meshgate(["check-config", config])
        #expect(result.standardError.contains("host names are not resolved"), "\(result)")
    }

    @Test("a 50 MB invalid value is quoted shortened, with its size")
    func hugeValueShortened() async throws {
        let value = String(repeating: "x", count: 50 << 20)
        let (directory, config) = try scratch { key in
            Self.config(keyFile: key).replacingOccurrences(of: "interface: mg0", with: "interface: \(value)")
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try await meshgate(["check-config", config])
        #expect(result.status == .exited(1))
        #expect(result.standardError.utf8.count < 4096, "\(result.standardError.utf8.count) bytes of errors")
        #expect(result.standardError.contains("(52428800 bytes)"), "\(result.standardError.prefix(500))")
    }
}
