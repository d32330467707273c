public import CryptoPrimitives
public import NetworkTypes

/// The validated content of one UAPI `set=1` request, ready to be applied all-or-nothing.
///
/// wireguard-go applies each line as it reads it, so a bad line halfway leaves the device half changed.
/// We parse the whole request first (``UAPICodec/parseSet(_:)``) and only then apply it, so a request
/// either changes nothing or everything. The fields below keep the effect of the lines in wireguard-go's
/// order of application; see each field for how the applier should read it.
public struct UAPIConfigurationChange: Sendable, Equatable {
    /// `private_key`: the new private key. ``Key32/zero`` means "remove the private key".
    /// wireguard-go clamps a non-zero key before use; this value holds the bytes as sent.
    public var privateKey: Key32?
    /// `listen_port`: the new UDP port; 0 asks for any free port.
    public var listenPort: UInt16?
    /// `fwmark`: the new firewall mark for outgoing UDP packets; 0 clears it.
    public var firewallMark: UInt32?
    /// `replace_peers=true`: remove every existing peer before applying ``peers``.
    public var replacePeers: Bool
    /// One entry per `public_key` line, in request order.
    ///
    /// The same public key may appear in several entries; apply them in order, each against the result
    /// of the previous ones (wireguard-go finds the peer the earlier section created).
    public var peers: [PeerChange]

    /// Creates a change; the defaults change nothing.
    public init(
        privateKey: Key32? = nil,
        listenPort: UInt16? = nil,
        firewallMark: UInt32? = nil,
        replacePeers: Bool = false,
        peers: [PeerChange] = []
    ) {
        self.privateKey = privateKey
        self.listenPort = listenPort
        self.firewallMark = firewallMark
        self.replacePeers = replacePeers
        self.peers = peers
    }

    /// The lines of one peer section: a `public_key` line and the lines after it up to the next one.
    ///
    /// Apply a section in this order: if ``remove``, remove the peer (if present) and ignore the rest;
    /// else if ``updateOnly`` and the peer does not exist, ignore the section; else create the peer if
    /// needed, set the scalar fields that are not nil, then the allowed IPs (see ``allowedIPs``).
    /// wireguard-go also ignores a section whose public key is the interface's own public key.
    public struct PeerChange: Sendable, Equatable {
        /// `public_key`: which peer this section configures.
        public var publicKey: Key32
        /// `remove=true`: remove this peer. Every other field of the section is then irrelevant.
        public var remove: Bool
        /// `update_only=true`: change the peer only if it already exists; never create it.
        public var updateOnly: Bool
        /// `preshared_key`: the new preshared key; ``Key32/zero`` means "no preshared key".
        public var presharedKey: Key32?
        /// `endpoint`: the new endpoint.
        public var endpoint: Endpoint?
        /// `persistent_keepalive_interval`: seconds between keepalives; 0 turns them off.
        public var persistentKeepaliveInterval: UInt16?
        /// `replace_allowed_ips=true`: remove all of the peer's allowed IPs before adding ``allowedIPs``.
        ///
        /// `allowed_ip` lines seen before this line in the same section are dropped by the parser,
        /// because wireguard-go would have wiped them.
        public var replaceAllowedIPs: Bool
        /// `allowed_ip=<prefix>` lines: prefixes to add, in order as given (host bits kept; canonicalise
        /// when inserting). Apply after ``replaceAllowedIPs`` and ``removedAllowedIPs``.
        public var allowedIPs: [IPPrefix]
        /// `allowed_ip=-<prefix>` lines (wireguard-go and wg since 2025): prefixes to remove from this peer
        /// if it owns them, in order as given.
        ///
        /// The parser keeps this list and ``allowedIPs`` disjoint (after canonicalising): a later line
        /// for the same prefix cancels an earlier one, so the two lists can be applied in either order.
        public var removedAllowedIPs: [IPPrefix]

        /// Creates a section for `publicKey`; the defaults change nothing else.
        public init(
            publicKey: Key32,
            remove: Bool = false,
            updateOnly: Bool = false,
            presharedKey: Key32? = nil,
            endpoint: Endpoint? = nil,
            persistentKeepaliveInterval: UInt16? = nil,
            replaceAllowedIPs: Bool = false,
            allowedIPs: [IPPrefix] = [],
            removedAllowedIPs: [IPPrefix] = []
        ) {
            self.publicKey = publicKey
            self.remove = remove
            self.updateOnly = updateOnly
            self.presharedKey = presharedKey
            self.endpoint = endpoint
            self.persistentKeepaliveInterval = persistentKeepaliveInterval
            self.replaceAllowedIPs = replaceAllowedIPs
            self.allowedIPs = allowedIPs
            self.removedAllowedIPs = removedAllowedIPs
        }
    }
}
