/// A network interface as the kernel reports it (`RTM_NEWLINK`), read with ``RouteNetlink/links()``.
public struct Link: Sendable, Hashable, CustomStringConvertible {
    /// The interface index (`ifi_index`), stable while the interface exists in its namespace.
    public var index: Int32
    /// The interface name (`IFLA_IFNAME`), at most 15 bytes.
    public var name: String
    /// The MTU in bytes (`IFLA_MTU`).
    public var mtu: Int
    /// Whether the interface is administratively up (`IFF_UP`), as set by ``RouteNetlink/setLinkUp(index:up:)``.
    public var isUp: Bool
    /// Whether the lower layer reports a carrier (`IFF_LOWER_UP`): a veth whose peer is down has none.
    public var hasCarrier: Bool
    /// The link-layer address (`IFLA_ADDRESS`): six bytes for Ethernet and veth (all zero for loopback),
    /// empty for TUN and other interfaces without one.
    public var hardwareAddress: [UInt8]

    public init(index: Int32, name: String, mtu: Int, isUp: Bool, hasCarrier: Bool, hardwareAddress: [UInt8]) {
        self.index = index
        self.name = name
        self.mtu = mtu
        self.isUp = isUp
        self.hasCarrier = hasCarrier
        self.hardwareAddress = hardwareAddress
    }

    /// `name (index) mtu N up|down aa:bb:…`.
    public var description: String {
        let mac = hardwareAddress.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: ":")
        return "\(name) (\(index)) mtu \(mtu) \(isUp ? "up" : "down")\(mac.isEmpty ? "" : " \(mac)")"
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
