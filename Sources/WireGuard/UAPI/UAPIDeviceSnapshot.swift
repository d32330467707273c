public import CryptoPrimitives

/// What a UAPI `get=1` reply reports about the interface; ``UAPICodec/formatGet(_:)`` writes it.
public struct UAPIDeviceSnapshot: Sendable, Equatable {
    /// The interface's private key; nil or ``Key32/zero`` when none is set (then no line is written).
    public var privateKey: Key32?
    /// The bound UDP port; 0 when not bound (then no line is written).
    public var listenPort: UInt16
    /// The firewall mark; 0 when unset (then no line is written).
    public var firewallMark: UInt32
    /// The peers, written in this order.
    public var peers: [UAPIPeerSnapshot]

    /// Creates a snapshot.
    public init(
        privateKey: Key32? = nil,
        listenPort: UInt16 = 0,
        firewallMark: UInt32 = 0,
        peers: [UAPIPeerSnapshot] = []
    ) {
        self.privateKey = privateKey
        self.listenPort = listenPort
        self.firewallMark = firewallMark
        self.peers = peers
    }
}
