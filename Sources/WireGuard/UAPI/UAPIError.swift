/// Why a UAPI request failed, with the evidence, and the `errno` the reply carries.
///
/// The numbers follow wireguard-go (`ipc/uapi_unix.go`), which writes them *negated* on Linux:
/// `errno=-22` for an invalid argument. `wg` (wireguard-tools `src/ipc-uapi.h`, `userspace_set_device`)
/// reads that number, negates it back into the C `errno`, and `wg set` / `wg setconf` then print
/// `Unable to modify interface: Invalid argument`. A positive number would instead make `wg` print
/// `Unknown error -22`.
///
/// The parse and framing cases are produced by ``UAPICodec`` and ``UAPIRequestParser``. The last four
/// cases are for whoever applies a parsed ``UAPIConfigurationChange`` or serves a `get`, so that every
/// failure on the UAPI socket goes through ``UAPICodec/formatError(_:)``.
///
/// Values that may be secret (private and preshared keys) never appear in a case, and other values are
/// shortened, so an error can always be logged.
public enum UAPIError: Error, Equatable, Sendable, CustomStringConvertible {
    // MARK: - Parsing a set=1 request

    /// A line has no `=`. wireguard-go answers `IpcErrorProtocol` (EPROTO).
    case malformedLine(String)
    /// A key wireguard-go does not know in the device section (before the first `public_key`).
    case unknownDeviceKey(String)
    /// A key wireguard-go does not know in a peer section (after a `public_key`).
    case unknownPeerKey(String)
    /// A device key (`private_key`, `listen_port`, `fwmark`, `replace_peers`) after a `public_key`.
    /// wireguard-go reads it as a peer key and rejects it as unknown.
    case deviceKeyAfterPeer(String)
    /// A peer key (`preshared_key`, `endpoint`, …) before any `public_key`. wireguard-go reads it as a
    /// device key and rejects it as unknown.
    case peerKeyWithoutPublicKey(String)
    /// The value of the named key is not exactly 64 hex digits. The value is withheld: it may be secret.
    case invalidHexKey(key: String)
    /// The value of the named key is not a decimal number in its range (`listen_port` and
    /// `persistent_keepalive_interval` 0…65535, `fwmark` 0…4294967295).
    case invalidNumber(key: String, value: String)
    /// A flag key (`replace_peers`, `remove`, `update_only`, `replace_allowed_ips`) whose value is not
    /// exactly `true`; wireguard-go accepts no other spelling, not even `false`.
    case invalidFlag(key: String, value: String)
    /// An `endpoint` that is not `IPv4:port` or `[IPv6]:port`.
    case invalidEndpoint(String)
    /// An `allowed_ip` that is not `address/length` with a length that fits the family.
    case invalidAllowedIP(String)
    /// A `protocol_version` other than `1`.
    case unsupportedProtocolVersion(String)

    // MARK: - Framing

    /// `get=1\n` was followed by this byte instead of the blank line.
    case trailingCharacterAfterGet(UInt8)
    /// The request grew past the parser's byte limit before it was complete.
    case requestTooLarge(limit: Int)

    // MARK: - Applying a change or answering a get

    /// Binding the UDP socket (new `listen_port`) or setting its `fwmark` failed.
    case bindFailed(String)
    /// A new peer could not be created (for example, the peer limit was reached).
    case peerCreationFailed(String)
    /// Reading the request or writing the reply failed.
    case ioFailure(String)
    /// Anything else; wireguard-go reports such errors as ENOANO.
    case unknown(String)

    /// The number to put in the `errno=` reply line, with wireguard-go's (negative) sign.
    ///
    /// wireguard-go's mapping (`ipc/uapi_unix.go` constants, used in `device/uapi.go`):
    /// - `IpcErrorInvalid` = -EINVAL (-22): every bad key or value, and a trailing byte after `get=1`.
    /// - `IpcErrorProtocol` = -EPROTO (-71): a line without `=`.
    /// - `IpcErrorIO` = -EIO (-5): reading the request or writing the reply failed.
    /// - `IpcErrorPortInUse` = -EADDRINUSE (-98): rebinding for `listen_port` or `fwmark` failed.
    /// - `IpcErrorUnknown` = -55 (ENOANO): any other error.
    ///
    /// ``requestTooLarge(limit:)`` has no wireguard-go twin; it uses -EIO, as wireguard-go does when
    /// its line scanner gives up on an over-long line.
    public var errno: Int32 {
        switch self {
        case .malformedLine:
            return UAPIError.protocolErrno
        case .unknownDeviceKey, .unknownPeerKey, .deviceKeyAfterPeer, .peerKeyWithoutPublicKey, .invalidHexKey,
            .invalidNumber, .invalidFlag, .invalidEndpoint, .invalidAllowedIP, .unsupportedProtocolVersion,
            .trailingCharacterAfterGet, .peerCreationFailed:
            return UAPIError.invalidErrno
        case .requestTooLarge, .ioFailure:
            return UAPIError.ioErrno
        case .bindFailed:
            return UAPIError.portInUseErrno
        case .unknown:
            return UAPIError.unknownErrno
        }
    }

    /// A one-line message in the spirit of wireguard-go's log lines, safe to log.
    public var description: String {
        switch self {
        case .malformedLine(let line): return "UAPI: line without '=': \(line)"
        case .unknownDeviceKey(let key): return "UAPI: invalid device key: \(key)"
        case .unknownPeerKey(let key): return "UAPI: invalid peer key: \(key)"
        case .deviceKeyAfterPeer(let key): return "UAPI: device key after public_key: \(key)"
        case .peerKeyWithoutPublicKey(let key): return "UAPI: peer key before any public_key: \(key)"
        case .invalidHexKey(let key): return "UAPI: \(key) is not 64 hex digits"
        case .invalidNumber(let key, let value): return "UAPI: invalid \(key): \(value)"
        case .invalidFlag(let key, let value): return "UAPI: \(key) must be 'true', got: \(value)"
        case .invalidEndpoint(let value): return "UAPI: invalid endpoint: \(value)"
        case .invalidAllowedIP(let value): return "UAPI: invalid allowed_ip: \(value)"
        case .unsupportedProtocolVersion(let value): return "UAPI: invalid protocol version: \(value)"
        case .trailingCharacterAfterGet(let byte): return "UAPI: trailing byte \(byte) after get=1"
        case .requestTooLarge(let limit): return "UAPI: request longer than \(limit) bytes"
        case .bindFailed(let reason): return "UAPI: bind failed: \(reason)"
        case .peerCreationFailed(let reason): return "UAPI: cannot create peer: \(reason)"
        case .ioFailure(let reason): return "UAPI: I/O failure: \(reason)"
        case .unknown(let reason): return "UAPI: \(reason)"
        }
    }

    // Linux errno numbers (asm-generic/errno-base.h and asm-generic/errno.h), negated like wireguard-go.
    // Written out because this module is pure and imports no libc.
    static let invalidErrno: Int32 = -22  // EINVAL
    static let protocolErrno: Int32 = -71  // EPROTO
    static let ioErrno: Int32 = -5  // EIO
    static let portInUseErrno: Int32 = -98  // EADDRINUSE
    static let unknownErrno: Int32 = -55  // ENOANO

    /// Longest piece of input kept as evidence in a case, so a hostile request cannot bloat the logs.
    static let evidenceLimit = 128

    /// Turns raw input bytes into evidence text, cut to ``evidenceLimit`` bytes.
    static func evidence(_ bytes: some Collection<UInt8>) -> String {
        guard bytes.count > evidenceLimit else { return String(decoding: bytes, as: UTF8.self) }
        return String(decoding: bytes.prefix(evidenceLimit), as: UTF8.self) + "…"
    }
}
