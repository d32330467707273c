import ArgumentParser
import ControlProtocol
import Foundation
import GatewayConfig
import LinuxSystem
import Policy

/// `meshgate check-config FILE`: validates a gateway config (and its key file's permissions) without
/// touching the system.
struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a meshgated config file without changing anything on the system.",
        discussion: "Every problem is listed with the key it concerns. Exit code 0 if valid, 1 if not.")

    @Argument(help: "The YAML config file.")
    var file: String

    @Flag(help: "Print machine-readable JSON instead of text.")
    var json = false

    func run() throws {
        var problems: [String] = []
        var summary: [String: String] = [:]
        if let yaml = try? String(contentsOfFile: file, encoding: .utf8) {
            switch GatewayConfiguration.parse(yaml: yaml) {
            case .failure(let errors):
                problems = errors.errors.map(\.description)
                // The key file is checked even when the rest is broken, so one run reports everything.
                if let keyFile = GatewayConfiguration.declaredPrivateKeyFile(yaml: yaml) {
                    problems += keyFileProblems(keyFile)
                }
            case .success(let config):
                summary = [
                    "node": config.node.name, "overlay": "\(config.overlay.interface) \(config.overlay.address)",
                    "advertise": config.advertise.map(\.description).joined(separator: ", "),
                    "peers": String(config.peers.count),
                    "ha": config.ha.map { "\($0.group) priority \($0.priority)" } ?? "none",
                ]
                problems += keyFileProblems(config.node.privateKeyFile)
                problems += expiredKeyProblems(config)
                problems += roleChangeHookProblems(config)
                if let hook = config.ha?.onRoleChange { summary["on_role_change"] = hook.joined(separator: " ") }
                if let policyFile = config.policyFile {
                    if let data = FileManager.default.contents(atPath: policyFile) {
                        do {
                            let policy = try CompiledPolicy(bytes: Array(data), path: policyFile)
                            summary["policy"] = "\(policyFile) (sha256 \(policy.shortDigest))"
                            let known = Set(config.peers.map(\.name) + [config.node.name])
                            for reference in policy.policy.gatewayReferences where !known.contains(reference.name) {
                                problems.append(
                                    "\(policyFile):\(reference.position): \"\(reference.name)\" is not a gateway of this mesh (not in peers)"
                                )
                            }
                        } catch {
                            problems.append("\(policyFile):\(error)")
                        }
                    } else {
                        problems.append("policy_file: cannot read \(policyFile)")
                    }
                }
            }
        } else {
            problems = ["\(file): cannot read the file"]
        }
        if json {
            print(
                ControlProtocol.jsonOutput(
                    Report(file: file, valid: problems.isEmpty, errors: problems, summary: summary)))
        } else if problems.isEmpty {
            print(
                "\(file): valid (node \(summary["node"] ?? "?"), \(summary["peers"] ?? "0") peers, advertises \(summary["advertise"] ?? "-"), HA \(summary["ha"] ?? "none"), policy \(summary["policy"] ?? "none — all traffic between sites allowed"))"
            )
        } else {
            for p in problems { printError(p.hasPrefix(file) ? p : "\(file): \(p)") }
        }
        if !problems.isEmpty { throw ExitCode.failure }
    }

    private struct Report: Encodable {
        var file: String
        var valid: Bool
        var errors: [String]
        var summary: [String: String]
    }

    /// The key file must exist, be a small regular file (symlinks followed, as meshgated does), hold a
    /// key, and not be group/world-accessible.
    private func keyFileProblems(_ path: String) -> [String] {
        let read: SmallFile
        do {
            read = try SmallFile.read(path)
        } catch {
            return ["node.private_key_file: \(error)"]
        }
        switch GatewayConfiguration.validatePrivateKeyFile(contents: read.text, mode: read.mode, path: path) {
        case .success: return []
        case .failure(let error): return [error.description]
        }
    }

    /// A peer key whose `key_expires` has passed is no longer accepted by meshgated: an error here.
    private func expiredKeyProblems(_ config: GatewayConfiguration) -> [String] {
        let now = Int64(Date().timeIntervalSince1970)
        return config.peers.enumerated().compactMap { index, peer in
            guard let expiry = peer.keyExpires, expiry.isExpired(atSecondsSince1970: now) else { return nil }
            return
                "peers[\(index)].key_expires: \(expiry.text) is in the past: meshgated refuses \(peer.name)'s key; rotate it and update public_key and key_expires"
        }
    }
}
