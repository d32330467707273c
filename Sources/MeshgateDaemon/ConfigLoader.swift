public import CryptoPrimitives
import Foundation
public import GatewayConfig
import LinuxSystem
public import Policy

/// A private key read from disk, kept apart so it is not printed by accident.
public struct CryptoKey: Sendable {
    public let key: Key32
}

/// Reads and validates a gateway config and its private key file; the only I/O around `GatewayConfig`.
public enum ConfigLoader {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses `path`, then reads `node.private_key_file` and refuses it if group/world-accessible.
    public static func load(path: String) throws -> (GatewayConfiguration, privateKey: CryptoKey) {
        let config = try parse(path: path)
        let keyPath = config.node.privateKeyFile
        let file: SmallFile
        do {
            file = try SmallFile.read(keyPath)
        } catch {
            throw Failure(description: "\(path): node.private_key_file: \(error)")
        }
        let key: Key32
        switch GatewayConfiguration.validatePrivateKeyFile(contents: file.text, mode: file.mode, path: keyPath) {
        case .success(let k): key = k
        case .failure(let error): throw Failure(description: "\(path): \(error)")
        }
        try validatePresharedKeyFiles(config, path: path)
        return (config, CryptoKey(key: key))
    }

    /// Every `peers[i].preshared_key_file` must exist, hold a key and be private, like the private key.
    public static func validatePresharedKeyFiles(_ config: GatewayConfiguration, path: String) throws {
        for (i, peer) in config.peers.enumerated() {
            guard let file = peer.presharedKeyFile else { continue }
            let key = "peers[\(i)].preshared_key_file"
            let read: SmallFile
            do {
                read = try SmallFile.read(file)
            } catch {
                throw Failure(description: "\(path): \(key): \(error)")
            }
            if case .failure(let error) = GatewayConfiguration.validatePrivateKeyFile(
                contents: read.text, mode: read.mode, path: file, key: key)
            {
                throw Failure(description: "\(path): \(error)")
            }
        }
    }

    /// Parses and validates without touching the system (`meshgate check-config`).
    public static func parse(path: String) throws -> GatewayConfiguration {
        guard let yaml = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Failure(description: "\(path): cannot read the file")
        }
        switch GatewayConfiguration.parse(yaml: yaml) {
        case .success(var config):
            if let policyPath = config.policyFile {
                config.policy = try loadPolicy(policyPath, for: config, configPath: path)
            }
            return config
        case .failure(let errors):
            throw Failure(description: errors.errors.map { "\(path): \($0)" }.joined(separator: "\n"))
        }
    }

    /// Reads, checks (its tests included) and compiles the policy file; every gateway it names must be in
    /// the peer list, so that a typo cannot silently approve nobody.
    public static func loadPolicy(_ policyPath: String, for config: GatewayConfiguration, configPath: String) throws
        -> CompiledPolicy
    {
        guard let data = FileManager.default.contents(atPath: policyPath) else {
            throw Failure(description: "\(configPath): policy_file: cannot read \(policyPath)")
        }
        let policy: CompiledPolicy
        do {
            policy = try CompiledPolicy(bytes: Array(data), path: policyPath)
        } catch {
            throw Failure(description: "\(policyPath):\(error)")
        }
        let known = Set(config.peers.map(\.name) + [config.node.name])
        if let unknown = policy.policy.gatewayReferences.first(where: { !known.contains($0.name) }) {
            throw Failure(
                description:
                    "\(policyPath):\(unknown.position): \"\(unknown.name)\" is not a gateway of this mesh (not in peers)"
            )
        }
        return policy
    }
}

/// sd_notify without libsystemd: a datagram to $NOTIFY_SOCKET.
public enum SystemdNotify {
    public static func ready() { send("READY=1") }

    /// Sends one notification (`READY=1`, `WATCHDOG=1`, `STOPPING=1`, `STATUS=…`); nothing without systemd.
    public static func send(_ state: String) {
        guard let path = ProcessInfo.processInfo.environment["NOTIFY_SOCKET"], !path.isEmpty else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if bytes.first == UInt8(ascii: "@") { bytes[0] = 0 }  // abstract namespace
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let message = Array(state.utf8)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr in
                message.withUnsafeBytes {
                    sendto(fd, $0.baseAddress, $0.count, 0, addr, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
        }
    }
}
