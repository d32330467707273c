public import CryptoPrimitives
public import NetworkTypes

/// What a UAPI `get=1` reply reports about one peer.
public struct UAPIPeerSnapshot: Sendable, Equatable {
    /// The peer's public key.
    public var publicKey: Key32
    /// The preshared key; nil is written as the all-zero key, as wireguard-go does.
    public var presharedKey: Key32?
    /// The current endpoint; no line is written when nil.
    public var endpoint: Endpoint?
    /// Whole seconds of the wall-clock time (Unix epoch) of the last completed handshake; 0 if none.
    /// Negative values are written as 0, because `wg` accepts only digits there.
    public var lastHandshakeSeconds: Int64
    /// The sub-second part of that time, 0…999 999 999. Negative values are written as 0.
    public var lastHandshakeNanoseconds: Int64
    /// Bytes received from this peer.
    public var rxBytes: UInt64
    /// Bytes sent to this peer.
    public var txBytes: UInt64
    /// Persistent keepalive interval in seconds; 0 is off.
    public var persistentKeepaliveInterval: UInt16
    /// The peer's allowed IPs, written in this order and canonicalised (host bits cleared).
    public var allowedIPs: [IPPrefix]

    /// Creates a snapshot of one peer.
    public init(
        publicKey: Key32,
        presharedKey: Key32? = nil,
        endpoint: Endpoint? = nil,
        lastHandshakeSeconds: Int64 = 0,
        lastHandshakeNanoseconds: Int64 = 0,
        rxBytes: UInt64 = 0,
        txBytes: UInt64 = 0,
        persistentKeepaliveInterval: UInt16 = 0,
        allowedIPs: [IPPrefix] = []
    ) {
        self.publicKey = publicKey
        self.presharedKey = presharedKey
        self.endpoint = endpoint
        self.lastHandshakeSeconds = lastHandshakeSeconds
        self.lastHandshakeNanoseconds = lastHandshakeNanoseconds
        self.rxBytes = rxBytes
        self.txBytes = txBytes
        self.persistentKeepaliveInterval = persistentKeepaliveInterval
        self.allowedIPs = allowedIPs
    }
}
