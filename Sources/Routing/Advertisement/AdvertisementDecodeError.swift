/// Why a datagram is not a valid route-protocol message. Each case carries the evidence; ``label`` is
/// the snake_case metric label for the daemon's drop counter.
public enum AdvertisementDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The datagram is empty.
    case empty
    /// The first byte is a version this code does not speak.
    case unsupportedVersion(UInt8)
    /// The second byte is not a known message kind.
    case unknownKind(UInt8)
    /// The datagram ended inside the named field.
    case truncated(field: String)
    /// The named field is not a valid name (1...63 bytes of `A-Z a-z 0-9 . _ -`).
    case invalidName(field: String)
    /// A priority byte is zero.
    case invalidPriority(field: String)
    /// The role byte is neither 0 (standby) nor 1 (primary).
    case invalidRole(UInt8)
    /// The hello flags set bits other than `lan_healthy` and `held`.
    case reservedFlags(UInt8)
    /// A route's family byte is neither 4 nor 6.
    case invalidAddressFamily(UInt8)
    /// A route's prefix length exceeds its family's width.
    case invalidPrefixLength(UInt8)
    /// A route has host bits set (the text form of the prefix as received).
    case nonCanonicalPrefix(String)
    /// The same prefix appears twice in one routes message.
    case duplicatePrefix(String)
    /// The same group appears twice in one routes message.
    case duplicateGroup(String)
    /// A route refers to a group record that is not there.
    case unknownGroupIndex(UInt8)
    /// A term exceeds ``Advertisement/maximumTerm``.
    case termOutOfRange(field: String, UInt64)
    /// Bytes follow the last field.
    case trailingBytes(Int)
    /// A policy digest that is neither absent (0) nor SHA-256 (32 bytes).
    case invalidDigestLength(UInt8)
    /// A probe target outside the prefix it is for (the prefix's text form).
    case probeTargetOutsidePrefix(String)
    /// Links records out of order or repeated (the peer's name).
    case duplicatePeer(String)
    /// A relayed message that is not a routes, withdraw, policy, probe-targets or links message of its origin.
    case invalidRelayedMessage
    /// A links record's loss is neither a percentage nor 255 (not measured).
    case invalidLoss(UInt8)

    /// A sentence for the log, naming the field or value at fault.
    public var description: String {
        switch self {
        case .empty: "empty datagram"
        case .unsupportedVersion(let version):
            "unsupported route protocol version \(version) (this gateway speaks version \(Advertisement.version))"
        case .unknownKind(let kind): "unknown message kind \(kind)"
        case .truncated(let field): "message truncated in field \(field)"
        case .invalidName(let field): "field \(field) is not a valid name (1-63 bytes of A-Z a-z 0-9 . _ -)"
        case .invalidPriority(let field): "field \(field) is 0; priorities are 1-255"
        case .invalidRole(let role): "invalid role \(role) (expected 0 standby or 1 primary)"
        case .reservedFlags(let flags): "reserved flag bits set in 0x\(String(flags, radix: 16))"
        case .invalidAddressFamily(let family): "invalid address family \(family) (expected 4 or 6)"
        case .invalidPrefixLength(let length): "invalid prefix length \(length)"
        case .nonCanonicalPrefix(let prefix): "prefix \(prefix) has host bits set"
        case .duplicatePrefix(let prefix): "prefix \(prefix) appears twice"
        case .duplicateGroup(let group): "group \(group) appears twice"
        case .unknownGroupIndex(let index): "route refers to missing group record \(index)"
        case .termOutOfRange(let field, let value):
            "field \(field) is \(value), above the largest term \(Advertisement.maximumTerm)"
        case .trailingBytes(let count): "\(count) unexpected bytes after the message"
        case .invalidDigestLength(let length): "policy digest of \(length) bytes (expected 0 or 32)"
        case .probeTargetOutsidePrefix(let prefix): "probe target outside its prefix \(prefix)"
        case .duplicatePeer(let peer): "peer \(peer) appears twice or out of order"
        case .invalidRelayedMessage:
            "a relayed message must be a routes, withdraw, policy, probe-targets or links message of its origin"
        case .invalidLoss(let loss): "link loss \(loss) is neither a percentage nor 255 (not measured)"
        }
    }

    /// The snake_case reason used as a metric label.
    public var label: String {
        switch self {
        case .empty: "empty"
        case .unsupportedVersion: "unsupported_version"
        case .unknownKind: "unknown_kind"
        case .truncated: "truncated"
        case .invalidName: "invalid_name"
        case .invalidPriority: "invalid_priority"
        case .invalidRole: "invalid_role"
        case .reservedFlags: "reserved_flags"
        case .invalidAddressFamily: "invalid_address_family"
        case .invalidPrefixLength: "invalid_prefix_length"
        case .nonCanonicalPrefix: "non_canonical_prefix"
        case .duplicatePrefix: "duplicate_prefix"
        case .duplicateGroup: "duplicate_group"
        case .unknownGroupIndex: "unknown_group_index"
        case .termOutOfRange: "term_out_of_range"
        case .trailingBytes: "trailing_bytes"
        case .invalidDigestLength: "invalid_digest_length"
        case .probeTargetOutsidePrefix: "probe_target_outside_prefix"
        case .duplicatePeer: "duplicate_peer"
        case .invalidRelayedMessage: "invalid_relayed_message"
        case .invalidLoss: "invalid_loss"
        }
    }
}
