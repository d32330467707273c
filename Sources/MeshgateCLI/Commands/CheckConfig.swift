import ArgumentParser
import Foundation
import GatewayConfig

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
            case .success(let config):
                summary = [
                    "node": config.node.name, "overlay": "\(config.overlay.interface) \(config.overlay.address)",
                    "advertise": config.advertise.map(\.description).joined(separator: ", "),
                    "peers": String(config.peers.count),
                    "ha": config.ha.map { "\($0.group) priority \($0.priority)" } ?? "none",
                ]
                problems += keyFileProblems(config.node.privateKeyFile)
            }
        } else {
            problems = ["\(file): cannot read the file"]
        }
        if json {
            let object: [String: Any] = [
                "file": file, "valid": problems.isEmpty, "errors": problems, "summary": summary,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else if problems.isEmpty {
            print(
                "\(file): valid (node \(summary["node"] ?? "?"), \(summary["peers"] ?? "0") peers, advertises \(summary["advertise"] ?? "-"), HA \(summary["ha"] ?? "none"))"
            )
        } else {
            for p in problems { printError(p.hasPrefix(file) ? p : "\(file): \(p)") }
        }
        if !problems.isEmpty { throw ExitCode.failure }
    }

    /// The key file must exist, be readable, hold a key, and not be group/world-accessible.
    private func keyFileProblems(_ path: String) -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = attributes[.posixPermissions] as? NSNumber
        else { return ["node.private_key_file: cannot read \(path)"] }
        switch GatewayConfiguration.validatePrivateKeyFile(contents: text, mode: mode.uint32Value, path: path) {
        case .success: return []
        case .failure(let error): return [error.description]
        }
    }
}
