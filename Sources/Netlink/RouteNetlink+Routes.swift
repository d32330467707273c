internal import CLibMNL
import Glibc
import NetworkTypes

extension RouteNetlink {
    /// The unicast IPv4 and IPv6 routes of `table` (every table when 0), owned by `protocolNumber` when
    /// given, from two `RTM_GETROUTE` dumps. Local, broadcast, multicast, blackhole and cached (cloned)
    /// routes are left out. A multipath route is reported without interface or gateway.
    public func routes(table: UInt32 = Route.mainTable, protocolNumber: UInt8? = nil) throws(NetlinkError) -> [Route] {
        var routes: [Route] = []
        for family in [UInt8(AF_INET), UInt8(AF_INET6)] {
            routes += try dump(operation: "list routes") { header in
                header.pointee.nlmsg_type = UInt16(RTM_GETROUTE)
                var info = rtmsg()
                info.rtm_family = family
                header.putFamilyHeader(info)
            } parse: { message throws(NetlinkError) -> Route? in
                guard let route = try Self.parseRoute(message) else { return nil }
                guard table == 0 || route.table == table else { return nil }
                guard protocolNumber == nil || route.protocolNumber == protocolNumber else { return nil }
                return route
            }
        }
        return routes
    }

    /// Adds `route`, or replaces the route with the same table, destination and metric
    /// (`RTM_NEWROUTE` with `NLM_F_CREATE | NLM_F_REPLACE`).
    public func replaceRoute(_ route: Route) throws(NetlinkError) {
        try perform(.replaceRoute(route))
    }

    /// Removes `route` (`RTM_DELROUTE`), matching its destination, table and protocol, and its interface,
    /// gateway and metric when set. A missing route fails with `ESRCH`.
    public func deleteRoute(_ route: Route) throws(NetlinkError) {
        try perform(.deleteRoute(route))
    }

    static func parseRoute(_ message: ReceivedMessage) throws(NetlinkError) -> Route? {
        guard message.type == UInt16(RTM_NEWROUTE) else { return nil }
        guard let info = message.familyHeader(as: rtmsg.self) else {
            throw .malformedReply("RTM_NEWROUTE shorter than rtmsg")
        }
        let family = info.rtm_family
        guard family == UInt8(AF_INET) || family == UInt8(AF_INET6) else { return nil }
        guard info.rtm_type == UInt8(RTN_UNICAST), info.rtm_flags & UInt32(RTM_F_CLONED) == 0 else { return nil }

        var destination: IPAddress?
        var interfaceIndex: Int32?
        var gateway: IPAddress?
        var table = UInt32(info.rtm_table)
        var metric: UInt32?
        var source: IPAddress?
        var malformed: String?
        message.forEachAttribute(afterFamilyHeaderOf: MemoryLayout<rtmsg>.size) { type, payload in
            switch UInt32(type) {
            case RTA_DST.rawValue: destination = payload.netlinkAddress(family: family)
            case RTA_OIF.rawValue: interfaceIndex = payload.netlinkUInt32.map { Int32(bitPattern: $0) }
            case RTA_GATEWAY.rawValue: gateway = payload.netlinkAddress(family: family)
            case RTA_VIA.rawValue:
                // struct rtvia: a 16-bit family, then the address.
                if payload.count >= 2 {
                    let viaFamily = payload.loadUnaligned(as: UInt16.self)
                    gateway = UnsafeRawBufferPointer(rebasing: payload[2...])
                        .netlinkAddress(family: UInt8(truncatingIfNeeded: viaFamily))
                }
                if gateway == nil { malformed = "RTA_VIA" }
            case RTA_TABLE.rawValue: table = payload.netlinkUInt32 ?? table
            case RTA_PRIORITY.rawValue: metric = payload.netlinkUInt32
            case RTA_PREFSRC.rawValue: source = payload.netlinkAddress(family: family)
            default: break
            }
        }
        if let malformed { throw .malformedReply("RTM_NEWROUTE with a bad \(malformed)") }
        let zero: IPAddress = family == UInt8(AF_INET) ? .v4(IPv4Address(value: 0)) : .v6(IPv6Address(high: 0, low: 0))
        guard let prefix = IPPrefix(address: destination ?? zero, length: Int(info.rtm_dst_len)) else {
            throw .malformedReply("RTM_NEWROUTE with destination length \(info.rtm_dst_len)")
        }
        return Route(
            destination: prefix, interfaceIndex: interfaceIndex, gateway: gateway, protocolNumber: info.rtm_protocol,
            table: table, metric: metric, source: source)
    }
}
