#if canImport(Glibc)
    internal import Glibc
#endif

/// Why an nftables operation failed. Each case carries the evidence: the operation and the kernel's errno.
public enum NFTablesError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Opening or binding the `NETLINK_NETFILTER` socket, or sending or receiving on it, failed.
    case socket(operation: String, errno: Int32)
    /// The kernel rejected a request. `operation` names the message, e.g. `NEWRULE inet meshgate forward #2`.
    /// A rejected batch is rolled back as a whole: nothing of it is applied.
    case request(operation: String, errno: Int32)
    /// The kernel answered a batch without acknowledging this message (its replies were lost, e.g. ENOBUFS).
    case missingAcknowledgement(operation: String)
    /// A reply could not be parsed.
    case malformedReply(operation: String)
    /// The named table does not exist in family `inet`.
    case tableNotFound(String)
    /// A table name must be 1 to 255 bytes with no NUL.
    case invalidTableName(String)
    /// A chain or set name must be 1 to 255 bytes with no NUL.
    case invalidObjectName(String)
    /// An interface name must be 1 to 15 bytes (IFNAMSIZ − 1) and a valid Linux device name (no `/`, `:` or
    /// whitespace).
    case invalidInterfaceName(String)
    /// An MSS must be at least 1 byte.
    case invalidMSS(UInt16)
    /// The overlay MTU must be within 576...65535 bytes (the IPv4 minimum up to the largest IP packet).
    case mtuOutOfRange(Int)

    public var description: String {
        switch self {
        case .socket(let operation, let code): "nftables socket: \(operation): \(Self.describe(errno: code))"
        case .request(let operation, let code): "nftables \(operation): \(Self.describe(errno: code))"
        case .missingAcknowledgement(let operation): "nftables \(operation): the kernel sent no acknowledgement"
        case .malformedReply(let operation): "nftables \(operation): malformed reply"
        case .tableNotFound(let name): "nftables table inet \(name) does not exist"
        case .invalidTableName(let name): "invalid nftables table name \"\(name)\""
        case .invalidObjectName(let name): "invalid nftables chain or set name \"\(name)\""
        case .invalidInterfaceName(let name): "invalid interface name \"\(name)\""
        case .invalidMSS(let mss): "invalid TCP MSS \(mss)"
        case .mtuOutOfRange(let mtu): "overlay MTU \(mtu) is outside 576...65535"
        }
    }

    private static func describe(errno code: Int32) -> String {
        "\(String(cString: strerror(code))) (errno \(code))"
    }
}
