import ArgumentParser

/// The operator CLI. Subcommands are nouns (and verbs where needed); each has `--help`.
@main
struct Meshgate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshgate",
        abstract: "Operate a meshgate site-to-site gateway.",
        discussion: """
            Key commands read and write keys in the same base64 form as wg(8), so the two are \
            interchangeable.

            Exit codes: 0 success, 1 the operation failed, 64 bad usage.
            """,
        subcommands: [GenerateKey.self, PublicKey.self, GeneratePresharedKey.self]
    )
}
