public import NetworkTypes

/// A unicast route (`RTM_NEWROUTE`): a destination prefix reached through an interface, a gateway or both.
///
/// Values read by ``RouteNetlink/routes(table:protocolNumber:)`` compare equal to the value that created
/// them, with one kernel-made difference: an IPv6 route added without a metric reads back with metric 1024.
public struct Route: Sendable, Hashable, CustomStringConvertible {
    /// The main routing table (`RT_TABLE_MAIN`), where `ip route` looks by default.
    public static let mainTable: UInt32 = 254

    /// The destination; host bits must be clear for IPv4 (the kernel answers `EINVAL` otherwise).
    public var destination: IPPrefix
    /// The outgoing interface (`RTA_OIF`); nil to let the kernel derive it from the gateway.
    public var interfaceIndex: Int32?
    /// The next hop (`RTA_GATEWAY`); nil for an on-link route (scope link). An IPv6 gateway for an IPv4
    /// destination is sent as `RTA_VIA` (RFC 5549 style).
    public var gateway: IPAddress?
    /// Who owns the route (`rtm_protocol`); ``RouteNetlink/meshgateRouteProtocol`` for ours.
    public var protocolNumber: UInt8
    /// The routing table; tables above 255 travel in `RTA_TABLE`.
    public var table: UInt32
    /// The route's priority (`RTA_PRIORITY`), lower wins; nil for the kernel default (0 for IPv4, 1024 for IPv6).
    public var metric: UInt32?
    /// The preferred source address for traffic using the route (`RTA_PREFSRC`); it must be local.
    public var source: IPAddress?

    public init(
        destination: IPPrefix, interfaceIndex: Int32? = nil, gateway: IPAddress? = nil,
        protocolNumber: UInt8 = RouteNetlink.meshgateRouteProtocol, table: UInt32 = Route.mainTable,
        metric: UInt32? = nil, source: IPAddress? = nil
    ) {
        self.destination = destination
        self.interfaceIndex = interfaceIndex
        self.gateway = gateway
        self.protocolNumber = protocolNumber
        self.table = table
        self.metric = metric
        self.source = source
    }

    /// `10.1.0.0/24 via 192.0.2.2 dev 3 table 254 proto 88 metric 10 src 10.0.0.1`, close to `ip route`.
    public var description: String {
        var text = destination.description
        if let gateway { text += " via \(gateway)" }
        if let interfaceIndex { text += " dev \(interfaceIndex)" }
        text += " table \(table) proto \(protocolNumber)"
        if let metric { text += " metric \(metric)" }
        if let source { text += " src \(source)" }
        return text
    }
}
