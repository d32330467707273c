public import CryptoPrimitives

/// Why the engine discarded a packet. Every discarded packet has exactly one, and the raw value is the
/// `reason` label of the drop metric.
public enum DropReason: String, CaseIterable, Sendable {
    /// Shorter than any message, or a handshake message of the wrong length.
    case invalidLength = "invalid_length"
    /// The type word is not one of the four message types (reserved bytes must be zero).
    case unknownMessageType = "unknown_message_type"
    /// mac1 does not match: not addressed to us, or corrupted.
    case invalidMAC1 = "invalid_mac1"
    /// Under load and without a valid mac2: answered with a cookie reply instead.
    case underLoadCookieSent = "under_load_cookie_sent"
    /// The data plane's queue of handshake messages was full (a flood): dropped before any check.
    case handshakeQueueFull = "handshake_queue_full"
    /// Under load and this source exceeded its handshake rate (or its rate of cookie replies).
    case rateLimited = "rate_limited"
    /// A handshake message whose encrypted fields do not open.
    case handshakeDecryptionFailed = "handshake_decryption_failed"
    /// An initiation from a static key that is not one of our peers.
    case unknownPeer = "unknown_peer"
    /// An initiation whose TAI64N timestamp is not newer than the last accepted one (a replay).
    case staleTimestamp = "stale_timestamp"
    /// An initiation arriving sooner than the flood limit after the previous one from that peer.
    case initiationFlood = "initiation_flood"
    /// A response, cookie reply or transport message for an index we do not have.
    case unknownReceiverIndex = "unknown_receiver_index"
    /// A cookie reply that does not authenticate.
    case invalidCookieReply = "invalid_cookie_reply"
    /// Transport data under a keypair older than reject-after-time.
    case keypairExpired = "keypair_expired"
    /// Transport data whose Poly1305 tag does not verify.
    case invalidAuthenticationTag = "invalid_authentication_tag"
    /// Transport data with a counter seen before or too old for the replay window.
    case replayedCounter = "replayed_counter"
    /// Decrypted payload that is not a well-formed IPv4 or IPv6 packet.
    case malformedInnerPacket = "malformed_inner_packet"
    /// Decrypted packet whose source address is not in the sending peer's allowed IPs.
    case sourceNotAllowed = "source_not_allowed"
    /// Outbound packet whose destination matches no peer's allowed IPs.
    case noRoute = "no_route"
    /// Outbound packet for a peer with no known endpoint.
    case noEndpoint = "no_endpoint"
    /// Outbound packet dropped because the peer's staging queue was full.
    case stagingQueueFull = "staging_queue_full"
    /// The interface has no private key, so no session can exist.
    case noPrivateKey = "no_private_key"
    /// The packet is larger than the interface MTU allows.
    case packetTooLarge = "packet_too_large"
    /// Staged packets discarded after the handshake gave up.
    case handshakeTimedOut = "handshake_timed_out"

    /// Position in `allCases`, for counter arrays.
    var ordinal: Int { DropReason.ordered.firstIndex(of: self) ?? 0 }

    /// `allCases` built once: the synthesized property makes a new array on every call, and drops are
    /// counted on the packet path.
    private static let ordered = DropReason.allCases
}

/// Per-reason drop counts. Not safe for concurrent use.
public struct DropCounters: Sendable {
    private var counts = [UInt64](repeating: 0, count: DropReason.allCases.count)

    public init() {}

    mutating func record(_ reason: DropReason, count: UInt64 = 1) { counts[reason.ordinal] &+= count }

    public subscript(reason: DropReason) -> UInt64 { counts[reason.ordinal] }

    /// Total over all reasons.
    public var total: UInt64 { counts.reduce(0, &+) }
}

/// Outcome of a received handshake message, for the `meshgate_handshakes_total{result}` metric and logs.
public enum HandshakeEvent: Sendable, Equatable {
    /// We consumed an initiation from `peer` and answered it.
    case initiationConsumed(peer: Key32)
    /// We sent an initiation to `peer` (`retry` when it is a retransmission).
    case initiationSent(peer: Key32, retry: Bool)
    /// A handshake with `peer` completed (a response consumed, or a responder's session confirmed).
    case completed(peer: Key32)
    /// We gave up on `peer` after the retry limit.
    case gaveUp(peer: Key32)
    /// A handshake message was refused.
    case refused(DropReason)
}
