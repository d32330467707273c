internal import CryptoPrimitives

/// A policy read from its file, its tests passed, and compiled to kernel tables: what a gateway runs.
/// Compared by the file's digest, so configurations and intents holding one compare cheaply.
public final class CompiledPolicy: Sendable, Hashable, CustomStringConvertible {
    public let policy: Policy
    public let tables: PolicyTables
    /// Where it was read from, for messages.
    public let path: String
    /// The file's bytes, as loaded (what `meshgate policy diff` compares with).
    public let source: [UInt8]
    /// SHA-256 of the file, the 32 bytes the route protocol's policy message carries.
    public let digestBytes: [UInt8]

    /// Parses `bytes`, runs the policy's tests and compiles it.
    ///
    /// - Throws: ``PolicyError`` for a malformed policy, the first failing test, or one too large to compile.
    public init(bytes: [UInt8], path: String) throws(PolicyError) {
        policy = try Policy.parse(bytes)
        tables = try PolicyTables.compile(policy)
        let elements = tables.kernelElementCount()
        guard elements <= PolicyTables.maximumKernelElements else {
            throw PolicyError(
                SourcePosition(line: 1, column: 1),
                "the policy needs \(elements) kernel map elements, more than \(PolicyTables.maximumKernelElements): use fewer, larger address ranges in rules that combine many sources with many destinations"
            )
        }
        self.path = path
        self.source = bytes
        digestBytes = SHA256.hash(bytes)
    }

    /// SHA-256 of the file, as `sha256sum` prints it.
    public var digest: String { policy.digest }
    /// The digest's first 12 hex digits: what status, adverts and messages show.
    public var shortDigest: String { String(digest.prefix(12)) }

    public var description: String { "\(path) (sha256 \(shortDigest), \(policy.ruleNames.count) rules)" }

    public static func == (lhs: CompiledPolicy, rhs: CompiledPolicy) -> Bool { lhs.digest == rhs.digest }
    public func hash(into hasher: inout Hasher) { hasher.combine(digest) }
}
