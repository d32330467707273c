import ArgumentParser
import CryptoPrimitives

#if canImport(Glibc)
    import Glibc
#endif

/// `meshgate genkey`: like `wg genkey`, a new base64 private key on stdout.
struct GenerateKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genkey",
        abstract: "Print a new private key (base64), as `wg genkey` does.",
        discussion: "Store it with mode 0600: `umask 077; meshgate genkey > private.key`.")

    func run() throws {
        var key = X25519.generatePrivateKey(using: SystemRandom())
        print(key.base64)
        key.wipe()
    }
}

/// `meshgate pubkey`: like `wg pubkey`, reads a private key on stdin and prints its public key.
struct PublicKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pubkey",
        abstract: "Read a private key (base64) on stdin and print its public key, as `wg pubkey` does.")

    func run() throws {
        let text = readLine(strippingNewline: true)?.trimmingASCIIWhitespace() ?? ""
        guard var key = Key32(base64: text) else {
            throw ValidationError("stdin is not a base64 WireGuard key (44 characters ending in '=')")
        }
        // Same scalar as wg: the public key of the clamped private key.
        X25519.clamp(&key)
        print(X25519.publicKey(for: key).base64)
        key.wipe()
    }
}

/// `meshgate genpsk`: like `wg genpsk`, 32 random bytes in base64.
struct GeneratePresharedKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genpsk",
        abstract: "Print a new preshared key (base64), as `wg genpsk` does.")

    func run() throws {
        var key = SystemRandom().nextKey()
        print(key.base64)
        key.wipe()
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
