import ArgumentParser
import ControlProtocol

/// The operator CLI. Subcommands are nouns (and verbs where needed); each has `--help`.
@main
struct Meshgate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshgate",
        abstract: "Operate a meshgate site-to-site gateway.",
        discussion: """
            Key commands read and write keys in the same base64 form as wg(8), so the two are \
            interchangeable.

            Commands that talk to the daemon use its control socket (--socket, or the \
            \(ControlProtocol.socketEnvironmentVariable) environment variable, default \(ControlProtocol.defaultSocketPath)) \
            and print text for people, or JSON with --json (errors too; every JSON object carries schema_version). \
            --socket and --json may also come before the command: meshgate --socket S status.

            Exit codes: 0 success, 1 the operation failed (or the config is invalid), 64 bad usage.
            """,
        version: ControlProtocol.softwareVersion,
        subcommands: [
            Status.self, Health.self, Routes.self, Peers.self, Ping.self, Explain.self, Drill.self, CheckConfig.self,
            Reload.self, RotateKey.self,
            GenerateKey.self, PublicKey.self, GeneratePresharedKey.self, PolicyCommand.self,
        ]
    )

    static func main() {
        main(GlobalOptions.movedAfterCommand(Array(CommandLine.arguments.dropFirst())))
    }
}

/// Options accepted before the command as well as after it (`meshgate --socket S status`).
enum GlobalOptions {
    /// `arguments` with leading `--socket VALUE`, `--socket=VALUE` and `--json` moved to the end, where the
    /// command's own parser reads them.
    static func movedAfterCommand(_ arguments: [String]) -> [String] {
        var rest = arguments[...]
        var moved: [String] = []
        while let first = rest.first {
            if first == "--json" || first.hasPrefix("--socket=") {
                moved.append(first)
                rest = rest.dropFirst()
            } else if first == "--socket", rest.count >= 2 {
                moved += rest.prefix(2)
                rest = rest.dropFirst(2)
            } else {
                break
            }
        }
        return Array(rest) + moved
    }
}
