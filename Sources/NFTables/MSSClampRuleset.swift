/// The desired state of meshgate's TCP MSS clamping: one nftables table, owned by meshgate alone.
///
/// Programmed by ``NFTablesSocket/apply(_:)`` as
/// ```
/// table inet <tableName> {                       # comment "managed by meshgated"
///   chain forward {
///     type filter hook forward priority mangle; policy accept;
///     oifname <overlay> meta nfproto ipv4 tcp flags syn / syn,rst tcp option maxseg size > <v4>
///         counter tcp option maxseg size set <v4>
///     iifname <overlay> meta nfproto ipv4 ... (the same)
///     oifname <overlay> meta nfproto ipv6 ... <v6>
///     iifname <overlay> meta nfproto ipv6 ... <v6>
///   }
/// }
/// ```
/// Matching `syn` under the mask `syn,rst` clamps both SYN and SYN-ACK, so the MSS each end advertises
/// fits the overlay in both directions. An MSS already at or below the clamp is left alone (as iptables'
/// TCPMSS target does since Linux 2.6.25): raising a smaller MSS would break a host behind a smaller link.
///
/// A plain value; safe to share.
public struct MSSClampRuleset: Sendable, Hashable {
    /// The table that meshgate owns in family `inet`. Applying replaces it entirely.
    public var tableName: String
    /// The overlay interface, matched exactly (`oifname` and `iifname`).
    public var overlayInterface: String
    /// The MSS, in bytes, that IPv4 TCP SYNs crossing the overlay are clamped to.
    public var ipv4MSS: UInt16
    /// The MSS, in bytes, that IPv6 TCP SYNs crossing the overlay are clamped to.
    public var ipv6MSS: UInt16

    /// The table name meshgate uses unless configured otherwise.
    public static let defaultTableName = "meshgate"

    /// The fixed header bytes an MSS excludes (RFC 6691 §2: MSS = MTU − IP header − TCP header, both without
    /// options): 20 + 20 for IPv4, 40 + 20 for IPv6.
    static let ipv4HeaderBytes = 40
    static let ipv6HeaderBytes = 60

    public init(
        tableName: String = MSSClampRuleset.defaultTableName, overlayInterface: String, ipv4MSS: UInt16,
        ipv6MSS: UInt16
    ) {
        self.tableName = tableName
        self.overlayInterface = overlayInterface
        self.ipv4MSS = ipv4MSS
        self.ipv6MSS = ipv6MSS
    }

    /// The ruleset that keeps TCP over the overlay within `mtu`: MSS = `mtu` − 40 for IPv4 and `mtu` − 60 for
    /// IPv6, so 1240 and 1220 for meshgate's 1280-byte overlay.
    ///
    /// - Parameter mtu: the overlay MTU in bytes, 576...65535.
    /// - Throws: ``NFTablesError/mtuOutOfRange(_:)``, or an invalid name error from ``validate()``.
    public static func forOverlay(
        interface: String, mtu: Int, tableName: String = MSSClampRuleset.defaultTableName
    ) throws(NFTablesError) -> MSSClampRuleset {
        guard (576...65535).contains(mtu) else { throw .mtuOutOfRange(mtu) }
        let ruleset = MSSClampRuleset(
            tableName: tableName, overlayInterface: interface, ipv4MSS: UInt16(mtu - ipv4HeaderBytes),
            ipv6MSS: UInt16(mtu - ipv6HeaderBytes))
        try ruleset.validate()
        return ruleset
    }

    /// Checks the names and values before anything reaches the kernel.
    public func validate() throws(NFTablesError) {
        try Self.validateTableName(tableName)
        let interface = Array(overlayInterface.utf8)
        // The kernel's dev_valid_name(): not "." or "..", and no '/', ':' or whitespace.
        let forbidden: Set<UInt8> = [0, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, UInt8(ascii: "/"), UInt8(ascii: ":")]
        guard (1...15).contains(interface.count), overlayInterface != ".", overlayInterface != "..",
            !interface.contains(where: forbidden.contains)
        else { throw .invalidInterfaceName(overlayInterface) }
        guard ipv4MSS > 0 else { throw .invalidMSS(ipv4MSS) }
        guard ipv6MSS > 0 else { throw .invalidMSS(ipv6MSS) }
    }

    static func validateTableName(_ name: String) throws(NFTablesError) {
        let bytes = Array(name.utf8)
        guard (1...255).contains(bytes.count), !bytes.contains(0) else { throw .invalidTableName(name) }
    }
}
