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

            Commands that talk to the daemon use its control socket (--socket, default \(ControlProtocol.defaultSocketPath)) \
            and print text for people, or JSON with --json.

            Exit codes: 0 success, 1 the operation failed (or the config is invalid), 64 bad usage.
            """,
        subcommands: [
            Status.self, Routes.self, Peers.self, Drill.self, CheckConfig.self, Reload.self, RotateKey.self,
            GenerateKey.self, PublicKey.self, GeneratePresharedKey.self,
        ]
    )
}
